/**
 * Builds the static site only when its inputs changed since the last build: a
 * hash of the sources is written next to the output and compared next time.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { log, runNode } from './run.ts';

const INPUTS = ['src', 'content', 'astro.config.mjs', 'package-lock.json', 'sandbox-server/src/protocol.ts', 'sandbox-server/src/exercises'];
const STAMP = '.berth-site-hash';

function* files(path: string): Generator<string> {
  if (!existsSync(path)) return;
  if (statSync(path).isFile()) {
    yield path;
    return;
  }
  for (const entry of readdirSync(path).sort()) yield* files(join(path, entry));
}

export function siteInputHash(root: string): string {
  const hash = createHash('sha256');
  for (const input of INPUTS) {
    for (const file of files(join(root, input))) {
      if (file.endsWith('.test.ts')) continue;
      hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
    }
  }
  return hash.digest('hex').slice(0, 16);
}

export async function buildSite(root: string, outDir = 'dist'): Promise<void> {
  const stamp = join(root, outDir, STAMP);
  const hash = siteInputHash(root);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) {
    log('site', `up to date (${hash})`);
    return;
  }
  log('site', 'building with astro ...');
  const began = Date.now();
  await runNode([join(root, 'node_modules/astro/bin/astro.mjs'), 'build', '--silent'], { cwd: root });
  writeFileSync(stamp, hash);
  log('site', `built in ${((Date.now() - began) / 1000).toFixed(1)} s`);
}
