import pino from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs on stdout. Learner ids appear only as short handles. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { app: 'berth' } });
}

/** The first 8 characters of a learner handle: enough to follow one learner in logs. */
export const shortHandle = (handle: string): string => handle.slice(0, 8);
