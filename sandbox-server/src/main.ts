/** Entry point: `node sandbox-server/src/main.ts` (npm run serve). */
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { startBerth } from './server.ts';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`berth: ${err.message}`);
    process.exit(2);
  }
  throw err;
}
const log = createLogger(config.logLevel);

let berth;
try {
  berth = await startBerth(config, log);
} catch (err) {
  log.fatal({ err: (err as Error).message }, 'cannot start');
  console.error(`berth: cannot start: ${(err as Error).message}`);
  process.exit(1);
}
log.info({ url: berth.url, instance: config.instance }, 'listening');
console.error(`\n  Berth is running: ${berth.url}\n`);

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) process.exit(1);
    closing = true;
    log.info({ signal }, 'shutting down; sandboxes keep running');
    void berth.close().then(() => process.exit(0));
  });
}
