/** Waiting for a sandbox's nested engine: shared by the server and the lesson verifier. */
import type { SandboxRuntime } from './types.ts';

const READY_POLL_MS = 100;

/**
 * Polls the image's readiness probe (`berth-ready`) until the nested engine
 * answers. Fails early, with the sandbox's own log, if the container exits.
 */
export async function waitForEngine(
  runtime: SandboxRuntime,
  id: string,
  learner: string,
  timeoutMs: number,
  cancelled: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    if (cancelled()) throw new Error('the server is shutting down');
    const probe = await runtime.exec(id, ['berth-ready'], 5000).catch(() => ({ exitCode: null }));
    if (probe.exitCode === 0) return;
    if (attempt % 10 === 9) {
      const info = await runtime.find(learner);
      if (!info?.running) throw new Error(`the sandbox exited while starting: ${(await runtime.logsTail(id, 5)).trim() || 'no log'}`);
    }
    await new Promise((r) => setTimeout(r, READY_POLL_MS));
  }
  const tail = (await runtime.logsTail(id, 5)).trim();
  throw new Error(`the Docker engine in the sandbox did not start within ${Math.round(timeoutMs / 1000)} s${tail ? `: ${tail}` : ''}`);
}
