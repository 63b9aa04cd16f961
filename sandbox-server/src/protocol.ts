/**
 * The terminal WebSocket protocol, shared by the page (src/) and the server.
 *
 * Binary frames carry terminal bytes: keystrokes from page to server, output from
 * server to page. An empty binary frame from the page is activity without input
 * (the "keep working" button): it resets the idle timer. Text frames carry the typed JSON control messages below. The
 * first message from the page must be `hello`, within FIRST_MESSAGE_TIMEOUT_MS.
 */
import { z } from 'zod';

// In the browser, zod's compiled parsers probe `new Function`, which the site's CSP
// (script-src 'self', no 'unsafe-eval') reports as a violation: parse without them.
if (typeof window !== 'undefined') z.config({ jitless: true });

/** Path of the terminal WebSocket on the site's own origin. */
export const TERMINAL_PATH = '/ws/terminal';
/** Name of the HttpOnly cookie that identifies a learner. */
export const LEARNER_COOKIE = 'berth_learner';
/** Its name over https (see identity.ts). */
export const SECURE_LEARNER_COOKIE = '__Host-berth_learner';

/** Largest frame either side may send; ws closes bigger ones with 1009. */
export const MAX_FRAME_BYTES = 64 * 1024;
export const FIRST_MESSAGE_TIMEOUT_MS = 10_000;

/**
 * Flow control: the page asks the server to pause output once this many bytes
 * are written to xterm but not yet rendered, and to resume below the low mark.
 */
export const CLIENT_HIGH_WATER_BYTES = 512 * 1024;
export const CLIENT_LOW_WATER_BYTES = 64 * 1024;

/** WebSocket close codes (4000-4999 are application codes). */
export const CloseCode = {
  /** A frame was not valid JSON or not a known message. */
  BadMessage: 4000,
  /** No `hello` arrived in time. */
  FirstMessageTimeout: 4002,
  /** The sandbox could not be started; the message says why. */
  SandboxFailed: 4011,
  /** The server is shutting down; reconnect later. */
  ServerShutdown: 4012,
  /** Too many frames too fast. */
  RateLimited: 4029,
} as const;

const dimension = z.number().int().min(2).max(1000);

const lessonSlug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,80}$/);
const exerciseId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/);

export const ClientMessage = z.discriminatedUnion('t', [
  z
    .object({
      t: z.literal('hello').describe('First message: the terminal size the page will render.'),
      cols: dimension,
      rows: dimension,
      /** The lesson the page shows: its exercises are checked live. */
      lesson: lessonSlug.optional(),
      /** The page's language: hints, feedback and solutions come in it. */
      lang: z.enum(['ko', 'en']).optional(),
    })
    .strict(),
  z.object({ t: z.literal('check').describe('The learner pressed Check: evaluate now.') }).strict(),
  z
    .object({ t: z.literal('hint').describe('Show the next hint (the answer is a new `exercises` message).'), exercise: exerciseId })
    .strict(),
  z
    .object({ t: z.literal('solution').describe('Reveal the reference solution (answered by an `exercises` message).'), exercise: exerciseId })
    .strict(),
  z
    .object({
      t: z.literal('quiz').describe('Answers to a quiz: per question, the chosen choice indexes (answered by an `exercises` message).'),
      quiz: exerciseId,
      answers: z.array(z.array(z.number().int().min(0).max(9)).max(10)).max(20),
    })
    .strict(),
  z.object({ t: z.literal('resize'), cols: dimension, rows: dimension }).strict(),
  z.object({ t: z.literal('pause').describe('The page has too much unrendered output.') }).strict(),
  z.object({ t: z.literal('resume').describe('The page caught up; send output again.') }).strict(),
  z.object({ t: z.literal('reset').describe('Destroy this sandbox and start a fresh one.') }).strict(),
  z.object({ t: z.literal('help-end').describe('The learner ends (or refuses) an instructor typing in their terminal.') }).strict(),
]);
export type ClientMessage = z.infer<typeof ClientMessage>;

export const SandboxState = z.enum([
  'creating', // container being created
  'starting', // container running, nested engine booting
  'ready', // shell attached, `docker info` answers
  'stopping',
  'stopped', // stopped by the idle timer; data kept
  'failed',
]);
export type SandboxState = z.infer<typeof SandboxState>;

/** Why a status was sent; the page shows its own words for each, in the page's language. */
export const StatusCode = z.enum([
  'waiting', // waiting for a start slot
  'queued', // in line for a running slot: `position` and maybe `waitMs` say where
  'creating',
  'removing', // reset: the old sandbox is being removed
  'starting-engine',
  'idle-stopped', // stopped by the idle timer; data kept
  'max-age-stopped', // ran for BERTH_SANDBOX_MAX_AGE; data kept, start it again
  'stopped', // stopped from outside (engine restart, operator)
  'shell-loop', // the shell exits right after starting
  'start-failed', // `message` has a reference to the reason in the server's log
  'disk-full', // the host is below its free-space mark: no new sandbox for now (progress kept)
]);
export type StatusCode = z.infer<typeof StatusCode>;

export const ExerciseStatus = z.enum([
  'pending', // no verdict: not checked, not tried by the learner yet, or a just-started container being watched (feedback says so)
  'passed',
  'failing', // checked: not there yet (feedback says what is missing)
  'timeout', // a check hung and was killed: not a pass
  'error', // the check could not run (sandbox not ready...)
]);
export type ExerciseStatus = z.infer<typeof ExerciseStatus>;

export const ExerciseState = z
  .object({
    id: exerciseId,
    status: ExerciseStatus,
    /** Why it is not passing yet, in the page's language (untrusted sandbox text is plain text). */
    feedback: z.string().max(2000).optional(),
    /** The lesson's success note, once passed. */
    success: z.string().max(2000).optional(),
    passedAt: z.number().int().optional(),
    attempts: z.number().int().min(0),
    hintsUsed: z.number().int().min(0),
    hintsTotal: z.number().int().min(0),
    /** Hints already shown (so a reload shows them again). */
    hints: z.array(z.string().max(4000)),
    canRevealSolution: z.boolean(),
    /** The solution, once revealed (so a reload shows it again). */
    solution: z.string().max(8000).optional(),
    /** Graded lessons, once passed: what the checks observed then (the learner's own evidence). */
    evidence: z
      .object({
        at: z.number().int(),
        checks: z.array(z.object({ type: z.string().max(64), observed: z.string().max(2000) }).strict()).max(20),
      })
      .strict()
      .optional(),
  })
  .strict();
export type ExerciseState = z.infer<typeof ExerciseState>;

export const QuizState = z
  .object({
    id: exerciseId,
    passed: z.boolean(),
    attempts: z.number().int().min(0),
    /** After an answer: the learner's choices, whether each question was right, and why. */
    answers: z.array(z.array(z.number().int())).optional(),
    correct: z.array(z.boolean()).optional(),
    explanations: z.array(z.string().max(4000)).optional(),
    /** Graded quizzes: submissions left; `correct` and `passed` say anything only once none are left. */
    submissionsLeft: z.number().int().min(0).optional(),
  })
  .strict();
export type QuizState = z.infer<typeof QuizState>;

export const ServerMessage = z.discriminatedUnion('t', [
  z
    .object({
      t: z.literal('status'),
      state: SandboxState,
      code: StatusCode.optional(),
      /** English detail: progress step or failure reason (pages prefer their own text for `code`). */
      message: z.string().max(2000).optional(),
      /** Epoch ms at which the idle timer stops the sandbox, when ready. */
      idleStopAt: z.number().int().optional(),
      /** Epoch ms at which the sandbox reaches its maximum age and stops, when ready. */
      maxAgeStopAt: z.number().int().optional(),
      /** In line (`queued`): 1-based place; 1 is next. */
      position: z.number().int().min(1).optional(),
      /** In line: estimated wait in ms, from observed turnover (absent until there is some). */
      waitMs: z.number().int().min(0).optional(),
    })
    .strict(),
  z
    .object({
      t: z.literal('replay'),
      /** Bytes of scrollback that follow as binary frames before live output. */
      bytes: z.number().int().min(0),
    })
    .strict(),
  z.object({ t: z.literal('error'), message: z.string().max(2000) }).strict(),
  z
    .object({
      t: z.literal('watchers').describe('Who is watching this terminal now (classroom); `helping`: may type in it.'),
      watchers: z.array(z.object({ name: z.string().max(200), helping: z.boolean() }).strict()).max(100),
    })
    .strict(),
  z
    .object({
      t: z.literal('exercises').describe('The state of every exercise of the page\'s lesson.'),
      lesson: lessonSlug,
      graded: z.boolean(),
      /** True while a check run is in flight. */
      checking: z.boolean(),
      items: z.array(ExerciseState),
      quizzes: z.array(QuizState).default([]),
      /** Graded lessons: the recorded score. */
      score: z.object({ passed: z.number().int(), total: z.number().int() }).strict().optional(),
    })
    .strict(),
]);
export type ServerMessage = z.infer<typeof ServerMessage>;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string };

function parseWith<T>(schema: z.ZodType<T>, text: string): ParseResult<T> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const result = schema.safeParse(json);
  if (!result.success) return { ok: false, error: z.prettifyError(result.error) };
  return { ok: true, value: result.data };
}

export const parseClientMessage = (text: string) => parseWith(ClientMessage, text);
export const parseServerMessage = (text: string) => parseWith(ServerMessage, text);

/**
 * The watch socket (classroom): an instructor's read-only view of one learner's
 * terminal, `WATCH_PATH?learner=<handle>`. The server sends `watching` (the shell's
 * size and how many scrollback bytes follow as binary frames), then live output as
 * binary frames. The watcher's binary frames reach the shell only while help is on.
 */
export const WATCH_PATH = '/ws/watch';

export const WatchClientMessage = z.discriminatedUnion('t', [
  z.object({ t: z.literal('help').describe('Start or stop typing into the learner\'s terminal.'), on: z.boolean() }).strict(),
]);
export type WatchClientMessage = z.infer<typeof WatchClientMessage>;

export const WatchServerMessage = z.discriminatedUnion('t', [
  z.object({ t: z.literal('watching'), cols: dimension, rows: dimension, bytes: z.number().int().min(0) }).strict(),
  z.object({ t: z.literal('resize').describe('The learner\'s terminal changed size.'), cols: dimension, rows: dimension }).strict(),
  z
    .object({
      t: z.literal('help'),
      on: z.boolean(),
      /** Why help is off: the learner ended or refused it. */
      endedByLearner: z.boolean().optional(),
    })
    .strict(),
]);
export type WatchServerMessage = z.infer<typeof WatchServerMessage>;
export const parseWatchClientMessage = (text: string) => parseWith(WatchClientMessage, text);
export const parseWatchServerMessage = (text: string) => parseWith(WatchServerMessage, text);

/**
 * The class grid's stream (Server-Sent Events on /api/teach/classes/<id>/events;
 * sandbox-server/src/classroom/grid.ts): a snapshot on connect, then one `row` per
 * learner whose progress changed. Plain types: the server writes them, our page reads them.
 */
export const GRID_EVENTS_PATH = (classId: string) => `/api/teach/classes/${encodeURIComponent(classId)}/events`;

export interface GridColumn {
  lesson: string;
  /** Exercise id, or quiz:<id>. */
  id: string;
  title: { ko: string; en: string };
}

export interface GridCell {
  s: 'pending' | 'passed' | 'failing';
  /** Last feedback of a failing check (while the learner's sandbox is watched). */
  f?: { ko: string; en: string };
  /** Hints used, checks pressed. */
  h: number;
  a: number;
  /** Solution revealed. */
  r: boolean;
  /** First passed (epoch ms). */
  p: number | null;
}

export interface GridRow {
  learner: string;
  name: string;
  joinedAt: number;
  checking: boolean;
  /** One per column. */
  cells: GridCell[];
  passed: number;
  /** Index of the first column not passed (-1: all done), and since when (epoch ms) it is the current one. */
  current: number;
  since: number | null;
}

export type GridMessage =
  | { t: 'snapshot'; now: number; class: { id: string; name: string; code: string; endedAt: number | null }; columns: GridColumn[]; rows: GridRow[] }
  | { t: 'row'; now: number; row: GridRow }
  | { t: 'removed'; learner: string };

/** What a learner's page hears from their class (Server-Sent Events on CLASS_EVENTS_PATH; 204 when in no class). */
export const CLASS_EVENTS_PATH = '/api/class/events';
/** GET: { classes: n }, how many running classes the learner is in (a page opens the stream only then). */
export const CLASS_PATH = '/api/class';
export type ClassNotice = { t: 'message'; text: string; at: number } | { t: 'ended'; at: number };
/** Longest message an instructor may send to a class. */
export const MAX_NOTICE_CHARS = 280;
