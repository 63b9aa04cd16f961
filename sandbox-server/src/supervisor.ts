/**
 * Crash-only serving: runs the server (main.ts) as a child process and starts it
 * again whenever it dies, so a crash costs learners a reconnect, not their class.
 * The restarted server adopts every running sandbox (SandboxManager.reconcile), and
 * pages reconnect by themselves. `npm start` runs the server this way; so does
 * `node sandbox-server/src/supervisor.ts`. Under systemd, the unit's Restart= does
 * the same job (packaging/berth.service runs main.ts directly).
 *
 * Not restarted: a bad setting (exit 2: it would fail again), a server that never
 * came up in the first place (the operator must see why), and a stop we were asked for.
 * Restarts back off from 1 s to 30 s while the server keeps dying young.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from './log.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
/** Exit status of main.ts for a bad BERTH_* setting. */
export const EXIT_CONFIG = 2;
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;
/** A server that ran this long before dying counts as healthy: the next restart waits FIRST_DELAY_MS again. */
const HEALTHY_RUN_MS = 60_000;
/** A stop signal this soon after the first is a copy of it, not a second Ctrl+C. */
const REPEAT_SIGNAL_MS = 1000;

/** The wait before restart number `n` (1-based) of a server that keeps dying young. */
export function restartDelay(n: number): number {
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.max(0, n - 1));
}

export interface SuperviseOptions {
  log: Logger;
  /** The server's entry point (default main.ts). */
  entry?: string;
  /** Wait before restart number n (default restartDelay). */
  delay?: (n: number) => number;
}

export interface Supervision {
  /** The exit status to use once the supervision ends. */
  done: Promise<number>;
  /** Passes a stop signal to the server and restarts it no more. */
  stop(signal: NodeJS.Signals): void;
}

/** Runs the server until it is asked to stop or cannot start. */
export function superviseServer(opts: SuperviseOptions): Supervision {
  const { log } = opts;
  const entry = opts.entry ?? MAIN;
  const delayFor = opts.delay ?? restartDelay;
  let stopping = false;
  let stoppedAt = 0;
  let listenedOnce = false;
  let youngDeaths = 0;
  let child: ReturnType<typeof spawn> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let finish: (status: number) => void = () => {};
  const done = new Promise<number>((resolve) => (finish = resolve));

  const run = () => {
    const startedAt = Date.now();
    // Its own process group: a terminal's Ctrl+C reaches the supervisor only, which passes it on once.
    child = spawn(process.execPath, [entry], { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], detached: true });
    child.on('message', (msg: unknown) => {
      if ((msg as { t?: unknown } | null)?.t === 'listening') listenedOnce = true;
    });
    child.on('exit', (code, signal) => {
      child = undefined;
      const ranMs = Date.now() - startedAt;
      if (stopping) return finish(code ?? 0);
      if (code === EXIT_CONFIG) return finish(EXIT_CONFIG);
      if (!listenedOnce) {
        log.fatal({ code, signal }, 'server did not start; not restarting it (see the lines above)');
        return finish(code || 1);
      }
      youngDeaths = ranMs >= HEALTHY_RUN_MS ? 1 : youngDeaths + 1;
      const delay = delayFor(youngDeaths);
      log.error({ code, signal, ranSeconds: Math.round(ranMs / 1000), restartInSeconds: delay / 1000 }, 'server exited; restarting it');
      console.error(`berth: the server exited (${signal ?? `status ${code}`}); restarting in ${delay / 1000} s`);
      timer = setTimeout(run, delay);
    });
  };
  run();

  return {
    done,
    stop(signal) {
      if (stopping) {
        // A second Ctrl+C: now. The same one often arrives twice at once (the terminal
        // signals the whole group, and npm passes its copy on): that is not a second.
        if (Date.now() - stoppedAt > REPEAT_SIGNAL_MS) child?.kill('SIGKILL');
        return;
      }
      stopping = true;
      stoppedAt = Date.now();
      clearTimeout(timer);
      if (child) child.kill(signal);
      else finish(0);
    },
  };
}

/** Runs the server under supervision in this process until a signal stops it; returns the exit status. */
export async function runSupervised(log: Logger): Promise<number> {
  const supervision = superviseServer({ log });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => supervision.stop(signal));
  return supervision.done;
}

if (import.meta.main) {
  const log = createLogger(process.env.BERTH_LOG_LEVEL ?? 'info').child({ part: 'supervisor' });
  process.exit(await runSupervised(log));
}
