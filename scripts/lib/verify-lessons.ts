/**
 * The lesson verifier: for every exercise, in a fresh sandbox, run its setup,
 * assert every check fails, type the reference solution into a real shell (as a
 * learner would: history, prompt and all), then assert every check passes. In
 * another fresh sandbox, at the same time, it types the exercise's near miss (a
 * plausible wrong answer) after setup and asserts that at least one check fails:
 * an empty sandbox failing proves little, a near miss failing proves the checks
 * tell a right answer from an almost-right one.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import type { DockerRuntime } from '../../sandbox-server/src/runtime/docker.ts';
import { startToolRuntime } from './tool-runtime.ts';
import { ShellDriver } from './shell-driver.ts';
import { waitForEngine } from '../../sandbox-server/src/runtime/ready.ts';
import { ExerciseChecker } from '../../sandbox-server/src/exercises/live.ts';
import type { Exercise, ExerciseFile } from '../../sandbox-server/src/exercises/schema.ts';
import { Store } from '../../sandbox-server/src/store.ts';

export interface VerifyRow {
  lesson: string;
  exercise: string;
  ok: boolean;
  /** Checks that wrongly passed before the solution. */
  passedBefore: string[];
  /** Checks that still failed after the solution. */
  failedAfter: string[];
  solutionExit: number | null;
  /** Checks that failed after the near miss (at least one must). */
  nearMissFailed: string[];
  nearMissExit: number | null;
  /** Wall time of the slower of the two sandboxes. */
  seconds: number;
  error?: string;
}

export interface VerifyOptions {
  lessons: ReadonlyMap<string, ExerciseFile>;
  image: string;
  parallel: number;
  /** Called as each exercise finishes (progress output). */
  onRow?: (row: VerifyRow) => void;
}

const SOLUTION_TIMEOUT_MS = 180_000;

interface Attempt {
  /** Checks that passed right after setup. */
  passedBefore: string[];
  exit: number | null;
  /** Checks that failed after the typed answer, with their feedback. */
  failedAfter: string[];
  seconds: number;
}

/** In a fresh sandbox: setup and a first evaluation, `answer` typed into a real shell, a second evaluation. */
async function tryAnswer(runtime: DockerRuntime, checker: ExerciseChecker, lesson: string, exercise: Exercise, answer: string): Promise<Attempt> {
  const began = Date.now();
  const learner = randomBytes(16).toString('hex');
  const describe = (c: number) => `${c}:${exercise.checks[c]!.type}`;
  try {
    const info = await runtime.create(learner);
    await runtime.start(info.id);
    await waitForEngine(runtime, info.id, learner, 90_000);
    const [before] = await checker.evaluateOnce(info.id, lesson, [exercise], true);
    const shell = new ShellDriver(await runtime.openShell(info.id, 200, 50));
    let exit: number | null;
    try {
      exit = (await shell.run(answer, { timeoutMs: SOLUTION_TIMEOUT_MS })).exitCode;
    } finally {
      shell.close();
    }
    const [after] = await checker.evaluateOnce(info.id, lesson, [exercise], false);
    return {
      passedBefore: before!.checks.flatMap((passed, c) => (passed ? [describe(c)] : [])),
      exit,
      failedAfter: after!.checks.flatMap((passed, c) => (passed ? [] : [`${describe(c)} (${after!.feedback[c]})`])),
      seconds: (Date.now() - began) / 1000,
    };
  } finally {
    await runtime.destroy(learner).catch(() => {});
  }
}

type Job = { lesson: string; exercise: Exercise; kind: 'solution' | 'near-miss' };

export async function verifyLessons(opts: VerifyOptions): Promise<VerifyRow[]> {
  const { runtime, close } = await startToolRuntime('verify', opts.image);
  const store = new Store(':memory:');
  const checker = new ExerciseChecker({ runtime, store, log: pino({ level: 'silent' }), lessons: opts.lessons });
  const exercises = [...opts.lessons].flatMap(([lesson, file]) => file.exercises.map((exercise) => ({ lesson, exercise })));
  // Each exercise's two sandboxes are next to each other in the queue, so with two
  // workers or more they run at the same time.
  const jobs: Job[] = exercises.flatMap(({ lesson, exercise }) => [
    { lesson, exercise, kind: 'solution' as const },
    { lesson, exercise, kind: 'near-miss' as const },
  ]);
  const rows: VerifyRow[] = exercises.map(({ lesson, exercise }) => ({
    lesson,
    exercise: exercise.id,
    ok: false,
    passedBefore: [],
    failedAfter: [],
    solutionExit: null,
    nearMissFailed: [],
    nearMissExit: null,
    seconds: 0,
  }));
  const done = new Array<number>(exercises.length).fill(0);
  const finish = (i: number, kind: Job['kind'], attempt: Attempt | undefined, error: string | undefined) => {
    const row = rows[i]!;
    if (error) row.error = row.error ? `${row.error}; ${kind}: ${error}` : `${kind}: ${error}`;
    if (attempt && kind === 'solution') {
      row.passedBefore = attempt.passedBefore;
      row.solutionExit = attempt.exit;
      row.failedAfter = attempt.failedAfter;
    } else if (attempt) {
      row.nearMissExit = attempt.exit;
      row.nearMissFailed = attempt.failedAfter;
    }
    row.seconds = Math.max(row.seconds, attempt?.seconds ?? 0);
    if (++done[i]! < 2) return;
    row.ok = !row.error && row.passedBefore.length === 0 && row.failedAfter.length === 0 && row.nearMissFailed.length > 0;
    opts.onRow?.(row);
  };
  try {
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const j = next++;
        const job = jobs[j]!;
        const answer = job.kind === 'solution' ? job.exercise.solution : job.exercise.near_miss;
        try {
          finish(j >> 1, job.kind, await tryAnswer(runtime, checker, job.lesson, job.exercise, answer), undefined);
        } catch (err) {
          finish(j >> 1, job.kind, undefined, (err as Error).message);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.parallel) }, worker));
  } finally {
    checker.close();
    store.close();
    await close();
  }
  return rows;
}

export function formatTable(rows: VerifyRow[]): string {
  const header = ['lesson', 'exercise', 'checks fail before', 'solution', 'checks pass after', 'near miss fails', 'time', 'result'];
  const body = rows.map((r) => [
    r.lesson,
    r.exercise,
    r.error ? '-' : r.passedBefore.length ? `no: ${r.passedBefore.join(', ')} passed` : 'yes',
    r.solutionExit === null ? '-' : `exit ${r.solutionExit}`,
    r.error ? '-' : r.failedAfter.length ? `no: ${r.failedAfter.join('; ')}` : 'yes',
    r.error ? '-' : r.nearMissFailed.length ? `yes: ${r.nearMissFailed.map((f) => f.replace(/ \(.*/, '')).join(', ')}` : 'no: every check passed',
    `${r.seconds.toFixed(1)} s`,
    r.ok ? 'PASS' : `FAIL${r.error ? `: ${r.error}` : ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => Math.min(b[i]!.length, 60))));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
