/**
 * npm start: checks the machine, builds the site and any missing images (both
 * skipped when current), then runs the sandbox server in the foreground.
 * Installs nothing: scripts/install-prereqs.sh does that, when asked.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { spawn } from 'node:child_process';
import { preflight } from './lib/preflight.ts';
import { buildSite } from './lib/site.ts';
import { runNode } from './lib/run.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
preflight(root);
await buildSite(root);
await runNode([join(root, 'scripts/images.ts')], { cwd: root });

const server = spawn(process.execPath, [join(root, 'sandbox-server/src/main.ts')], { cwd: root, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => server.kill(signal));
server.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
