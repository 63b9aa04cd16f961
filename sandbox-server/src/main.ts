/** Entry point: `node sandbox-server/src/main.ts` (npm run serve). */
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { startBerth } from './server.ts';
import { EXIT_CONFIG } from './supervisor.ts';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`berth: ${err.message}`);
    process.exit(EXIT_CONFIG);
  }
  throw err;
}
const log = createLogger(config.logLevel);

// Crash-only: whatever escaped every guard is logged, and the process ends so its
// supervisor (npm start, systemd) starts a fresh one, which adopts every sandbox.
// A rejection nobody handled is a bug in one task, not a broken process: logged only.
process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'uncaught exception; exiting (the supervisor restarts the server)');
  process.exit(1);
});
process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));

let berth;
try {
  berth = await startBerth(config, log);
} catch (err) {
  log.fatal({ err: (err as Error).message }, 'cannot start');
  console.error(`berth: cannot start: ${(err as Error).message}`);
  process.exit(1);
}
log.info({ url: berth.url, instance: config.instance }, 'listening');
process.send?.({ t: 'listening' }); // tells the supervisor this start succeeded
console.error(`\n  Berth is running: ${berth.url}\n`);

let closing = false;
const shutdown = (reason: string) => {
  if (closing) process.exit(1); // a second Ctrl+C: stop now
  closing = true;
  log.info({ reason }, 'shutting down; sandboxes keep running');
  void berth.close().then(() => process.exit(0));
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => shutdown(signal));
// Under the supervisor (its own process group, so a terminal's Ctrl+C reaches it once,
// through the supervisor): if the supervisor itself dies, stop too rather than linger
// on the port its next start needs.
process.on('disconnect', () => shutdown('supervisor gone'));
