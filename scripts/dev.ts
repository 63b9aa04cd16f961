/**
 * npm run dev: for lesson authors. Astro's dev server (live reload) on 4321 and
 * the sandbox server on 4322; Astro proxies /api and /ws to it (astro.config.mjs),
 * so the page, cookie and socket stay on one origin.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { preflight } from './lib/preflight.ts';
import { runNode } from './lib/run.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const sitePort = process.env.BERTH_PORT ?? '4321';
const apiPort = process.env.BERTH_DEV_API_PORT ?? '4322';
preflight(root);
await runNode([join(root, 'scripts/images.ts')], { cwd: root });

const children: ChildProcess[] = [
  spawn(process.execPath, [join(root, 'sandbox-server/src/main.ts')], {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      BERTH_PORT: apiPort,
      // Pages come from Astro's port; the socket must accept that origin.
      BERTH_PUBLIC_URL: process.env.BERTH_PUBLIC_URL ?? `http://localhost:${sitePort}`,
      BERTH_ALLOWED_ORIGINS: process.env.BERTH_ALLOWED_ORIGINS ?? `http://127.0.0.1:${sitePort}`,
    },
  }),
  spawn(process.execPath, [join(root, 'node_modules/astro/bin/astro.mjs'), 'dev', '--port', sitePort], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, BERTH_DEV_API: `http://127.0.0.1:${apiPort}` },
  }),
];
const stopAll = (signal: NodeJS.Signals) => children.forEach((c) => c.kill(signal));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stopAll(signal));
for (const c of children) c.on('exit', (code) => {
  stopAll('SIGTERM');
  process.exitCode = code ?? 1;
});
