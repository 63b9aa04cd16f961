/**
 * npm start: checks the machine, builds the site and any missing images (both
 * skipped when current), then runs the sandbox server in the foreground, started
 * again whenever it dies (sandbox-server/src/supervisor.ts).
 * Installs nothing: scripts/install-prereqs.sh does that, when asked.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { preflight } from './lib/preflight.ts';
import { buildSite } from './lib/site.ts';
import { runNode } from './lib/run.ts';
import { runSupervised } from '../sandbox-server/src/supervisor.ts';
import { createLogger } from '../sandbox-server/src/log.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
preflight(root);
await buildSite(root);
await runNode([join(root, 'scripts/images.ts')], { cwd: root });

// Crash-only: a server that dies is started again, and adopts every running sandbox.
process.chdir(root);
const log = createLogger(process.env.BERTH_LOG_LEVEL ?? 'info').child({ part: 'supervisor' });
process.exit(await runSupervised(log));
