/** Checks a newcomer's machine before starting anything, with the fix in the message. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

export function preflight(root: string): void {
  const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
  const problems: string[] = [];
  if (major < 22 || (major === 22 && minor < 12)) {
    problems.push(`Node ${process.versions.node} is too old (need >= 22.12): run sudo scripts/install-prereqs.sh, or use Node 24 (see .nvmrc)`);
  }
  if (!existsSync(join(root, 'node_modules', 'astro'))) problems.push('dependencies are not installed: run npm install');
  try {
    execFileSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'pipe', timeout: 15_000 });
  } catch {
    problems.push('no Docker engine answers `docker info`: start dockerd (sudo scripts/install-prereqs.sh installs and starts one)');
  }
  if (problems.length) {
    process.stderr.write(`berth: cannot start yet:\n  - ${problems.join('\n  - ')}\n`);
    process.exit(1);
  }
}
