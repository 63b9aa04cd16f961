/**
 * The lesson verifier: for every exercise, in a fresh sandbox, run its setup,
 * assert every check fails, type the reference solution into a real shell (as a
 * learner would: history, prompt and all), then assert every check passes.
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

async function verifyExercise(runtime: DockerRuntime, checker: ExerciseChecker, lesson: string, exercise: Exercise): Promise<VerifyRow> {
  const began = Date.now();
  const learner = randomBytes(16).toString('hex');
  const row: VerifyRow = { lesson, exercise: exercise.id, ok: false, passedBefore: [], failedAfter: [], solutionExit: null, seconds: 0 };
  try {
    const info = await runtime.create(learner);
    await runtime.start(info.id);
    await waitForEngine(runtime, info.id, learner, 90_000);
    const describe = (c: number) => `${c}:${exercise.checks[c]!.type}`;

    const [before] = await checker.evaluateOnce(info.id, lesson, [exercise], true);
    row.passedBefore = before!.checks.flatMap((passed, c) => (passed ? [describe(c)] : []));

    const shell = new ShellDriver(await runtime.openShell(info.id, 200, 50));
    try {
      row.solutionExit = (await shell.run(exercise.solution, { timeoutMs: SOLUTION_TIMEOUT_MS })).exitCode;
    } finally {
      shell.close();
    }

    const [after] = await checker.evaluateOnce(info.id, lesson, [exercise], false);
    row.failedAfter = after!.checks.flatMap((passed, c) => (passed ? [] : [`${describe(c)} (${after!.feedback[c]})`]));
    row.ok = row.passedBefore.length === 0 && row.failedAfter.length === 0;
  } catch (err) {
    row.error = (err as Error).message;
  } finally {
    await runtime.destroy(learner).catch(() => {});
    row.seconds = (Date.now() - began) / 1000;
  }
  return row;
}

export async function verifyLessons(opts: VerifyOptions): Promise<VerifyRow[]> {
  const { runtime, close } = await startToolRuntime('verify', opts.image);
  const store = new Store(':memory:');
  const checker = new ExerciseChecker({ runtime, store, log: pino({ level: 'silent' }), lessons: opts.lessons });
  const jobs = [...opts.lessons].flatMap(([lesson, file]) => file.exercises.map((exercise) => ({ lesson, exercise })));
  const rows: VerifyRow[] = new Array(jobs.length);
  try {
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const i = next++;
        const job = jobs[i]!;
        rows[i] = await verifyExercise(runtime, checker, job.lesson, job.exercise);
        opts.onRow?.(rows[i]!);
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
  const header = ['lesson', 'exercise', 'checks fail before', 'solution', 'checks pass after', 'time', 'result'];
  const body = rows.map((r) => [
    r.lesson,
    r.exercise,
    r.error ? '-' : r.passedBefore.length ? `no: ${r.passedBefore.join(', ')} passed` : 'yes',
    r.solutionExit === null ? '-' : `exit ${r.solutionExit}`,
    r.error ? '-' : r.failedAfter.length ? `no: ${r.failedAfter.join('; ')}` : 'yes',
    `${r.seconds.toFixed(1)} s`,
    r.ok ? 'PASS' : `FAIL${r.error ? `: ${r.error}` : ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => Math.min(b[i]!.length, 60))));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
