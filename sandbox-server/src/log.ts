import pino from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs on stdout. Learner ids appear only as short handles. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { app: 'berth' } });
}

/** The first 8 characters of a learner handle: enough to follow one learner in logs. */
export const shortHandle = (handle: string): string => handle.slice(0, 8);

/**
 * For lines a client can cause before any limit applies: true at most once per
 * `ms`, so a flood of refusals is one line a minute (the metrics count them all).
 */
export function oncePer(ms: number, now: () => number = Date.now): () => boolean {
  let next = 0;
  return () => {
    const t = now();
    if (t < next) return false;
    next = t + ms;
    return true;
  };
}
