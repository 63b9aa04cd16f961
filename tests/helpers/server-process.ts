/**
 * Berth as a separate process (`node sandbox-server/src/main.ts`), for tests that
 * must kill the server the hard way (SIGKILL) and start it again on the same data;
 * or under its supervisor (`supervisor.ts`, as npm start runs it), which starts it again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../sandbox-server/src/main.ts', import.meta.url));
const SUPERVISOR = fileURLToPath(new URL('../../sandbox-server/src/supervisor.ts', import.meta.url));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface ServerProcess {
  child: ChildProcess;
  origin: string;
  /** Everything the process wrote to stderr so far (for failure messages). */
  stderr(): string;
  /** SIGKILL (a crash) or SIGTERM (a graceful stop); resolves when the process is gone. */
  kill(signal: 'SIGKILL' | 'SIGTERM'): Promise<void>;
}

/** Waits until `origin` answers /healthz with 200, or throws after timeoutMs (or when `gone()` says the process ended). */
export async function waitForHealthy(origin: string, timeoutMs: number, gone: () => string | undefined = () => undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = gone();
    if (why) throw new Error(why);
    try {
      if ((await fetch(`${origin}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${origin} did not answer /healthz within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts the server with `env` (BERTH_* settings) and waits until it answers /healthz.
 * supervised: run it under supervisor.ts (child is then the supervisor).
 */
export async function startServerProcess(env: Record<string, string>, timeoutMs = 60_000, opts: { supervised?: boolean } = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [opts.supervised ? SUPERVISOR : MAIN], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-20_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const origin = `http://localhost:${env.BERTH_PORT}`;
  try {
    await waitForHealthy(origin, timeoutMs, () => (child.exitCode !== null ? `server exited with ${child.exitCode}: ${err}` : undefined));
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}: ${err}`);
  }
  return {
    child,
    origin,
    stderr: () => err,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
