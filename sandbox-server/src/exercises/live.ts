/**
 * Live exercise checking. While a page shows a lesson, the server evaluates that
 * lesson's checks inside the learner's sandbox — in one exec per run, at most one
 * run in flight per sandbox — whenever the nested engine reports an event, a
 * command finishes in the terminal, or the learner presses Check. Results and
 * progress go back to every page showing the lesson.
 */
import { createHash } from 'node:crypto';
import type { ExerciseState, QuizState, ServerMessage } from '../protocol.ts';
import type { SandboxRuntime } from '../runtime/types.ts';
import type { EvidenceRow, ProgressRow, Store } from '../store.ts';
import type { Logger } from '../log.ts';
import { shortHandle } from '../log.ts';
import { CHECK_TIMEOUT_S, EVIDENCE_MAX, RECHECK_EXIT, RUNNING_WINDOW_MS, buildRunScript, buildSetupScript, parseRunOutput, type CheckPlan, type CheckResult, type Extras } from './compile.ts';
import { failureFeedback } from './feedback.ts';
import { causeNote } from './cause.ts';
import { Semaphore } from '../semaphore.ts';
import type { Check, Exercise, ExerciseFile, Lang, Quiz } from './schema.ts';
import type { ProgressBus, ProgressEvent, ProgressItem } from '../classroom/progress-bus.ts';

export type Trigger = 'attach' | 'event' | 'prompt' | 'check';

/** How long to wait for more of the same burst before running (engine events come in bursts). */
const DEBOUNCE_MS: Record<Trigger, number> = { attach: 0, check: 0, prompt: 20, event: 60 };
/** A whole run: every check has its own timeout; setup may pull images. */
const RUN_TIMEOUT_MS = (CHECK_TIMEOUT_S + 5) * 1000;
const SETUP_TIMEOUT_MS = 130_000;

export interface ExerciseSubscriber {
  readonly lesson?: string;
  readonly lang: Lang;
  sendMessage(msg: ServerMessage): void;
}

interface LiveResult {
  status: 'passed' | 'pending' | 'failing' | 'timeout' | 'error';
  feedback?: Record<Lang, string>;
}

interface LessonLive {
  results: Map<string, LiveResult>;
  checkedSetup: boolean;
  /**
   * Per exercise, what the first run in this sandbox saw (pass/fail and feedback per
   * check): once a later run sees something else, the learner has touched what the
   * exercise checks, and it counts as tried.
   */
  baseline: Map<string, string>;
}

const PASSED_BEFORE_RESET = {
  checking: {
    ko: '샌드박스를 초기화하기 전에 통과했어요(기록은 남아 있어요). 새 샌드박스를 다시 확인하고 있어요.',
    en: 'Passed before the sandbox reset (your progress is kept). Checking the new sandbox again.',
  },
  gone: {
    ko: '샌드박스를 초기화하기 전에 통과했어요(기록은 남아 있어요). 새 샌드박스에는 아직 없으니, 여기서 보려면 다시 해 보세요.',
    en: 'Passed before the sandbox reset (your progress is kept). The new sandbox does not have it: do it again to see it here.',
  },
};
const PASSED_EARLIER = {
  ko: '전에 통과했어요(기록은 남아 있어요). 지금 샌드박스는 그때와 달라졌어요.',
  en: 'Passed earlier (your progress is kept), but your sandbox no longer shows it.',
};

/** What one run says about one exercise: the first failing check decides. */
function runOutcome(exercise: Exercise, checks: (CheckResult | null)[], extras: Extras): LiveResult {
  const failing = exercise.checks.findIndex((_, c) => checks[c]?.exitCode !== 0);
  if (failing < 0) return { status: 'passed' };
  const r = checks[failing] ?? null;
  if (r === null) {
    return { status: 'error', feedback: { ko: '샌드박스에서 확인을 실행하지 못했어요. 잠시 뒤 다시 확인해 보세요.', en: 'The check could not run in your sandbox. Try again in a moment.' } };
  }
  if (r.exitCode === RECHECK_EXIT) {
    // Not a verdict yet: the container runs, and the next run (after the window) decides.
    return { status: 'pending', feedback: { ko: '실행 중이에요. 계속 도는지 잠시 지켜보고 있어요.', en: 'It is running; watching for a moment that it keeps running.' } };
  }
  const check = exercise.checks[failing]!;
  return { status: r.engineUnverified ? 'error' : r.timedOut ? 'timeout' : 'failing', feedback: { ko: checkFeedback(check, r, extras, 'ko'), en: checkFeedback(check, r, extras, 'en') } };
}

/** A failing check's feedback, with the cause the run could see (a near-miss name, Docker's last error). */
function checkFeedback(check: Check, result: CheckResult | null, extras: Extras, lang: Lang): string {
  const text = failureFeedback(check, result, lang);
  const cause = result?.timedOut || result?.engineUnverified ? undefined : causeNote(check, extras, lang);
  return cause ? `${text} ${cause}` : text;
}

const isTried = (row: ProgressRow | undefined): boolean => row?.triedAt != null || (row?.attempts ?? 0) > 0;

/**
 * The live result a learner is shown: before their first attempt an exercise reads
 * neutral (no verdict, no feedback that would give the answer away), unless the
 * check itself could not run.
 */
function shownResult(row: ProgressRow | undefined, live: LiveResult | undefined): LiveResult | undefined {
  return live && (isTried(row) || live.status === 'error' || live.status === 'timeout') ? live : undefined;
}

/** Per check of a passed exercise: its type and what it observed (a script check: its own output). */
function evidenceOf(exercise: Exercise, checks: (CheckResult | null)[]): { type: string; observed: string }[] {
  return exercise.checks.map((check, c) => ({ type: check.type, observed: (checks[c]?.evidence ?? checks[c]?.output ?? '').trim().slice(0, EVIDENCE_MAX) }));
}

/** Progress rows for quizzes share the exercise table under this prefix. */
export const quizKey = (id: string) => `quiz:${id}`;

/** The progress rows a lesson counts: its exercises and its quizzes. */
export function progressIds(file: ExerciseFile): Set<string> {
  return new Set([...file.exercises.map((e) => e.id), ...file.quizzes.map((q) => quizKey(q.id))]);
}

/** How many times a graded quiz can be submitted. */
export const submissionsOf = (quiz: Quiz) => quiz.submissions ?? 1;

/** Per question: are the chosen indexes exactly the right ones? */
export function gradeQuiz(quiz: Quiz, answers: number[][]): boolean[] {
  return quiz.questions.map((q, i) => {
    const right = (Array.isArray(q.answer) ? q.answer : [q.answer]).slice().sort();
    const chosen = [...new Set(answers[i] ?? [])].sort();
    return right.length === chosen.length && right.every((r, j) => r === chosen[j]);
  });
}

class LearnerChecks {
  containerId: string | undefined;
  readonly subscribers = new Set<ExerciseSubscriber>();
  readonly lessons = new Map<string, LessonLive>();
  stopEvents: (() => void) | undefined;
  timer: NodeJS.Timeout | undefined;
  timerDue = 0;
  running = false;
  again = false;
  /** A Check press is pending: count an attempt on the run that answers it. */
  attempt = false;
  /** A run saw a check that is not decided until a window has passed: run again then. */
  recheck: NodeJS.Timeout | undefined;
  /** The last sandbox container seen (kept while it is down): a different one means a reset. */
  lastContainerId: string | undefined;
  /** When this learner's sandbox was last replaced by a new one (a reset), epoch ms. */
  resetAt = 0;
  /** Since that reset, no run has checked the new sandbox yet. */
  afterReset = false;
}

export interface CheckerOptions {
  runtime: SandboxRuntime;
  store: Store;
  log: Logger;
  lessons: ReadonlyMap<string, ExerciseFile>;
  /** Called with each run's duration (metrics, benchmarks). */
  onRun?: (ms: number) => void;
  /** Check runs at once over all learners (each is an exec the engine serves); default 8. */
  maxConcurrentRuns?: number;
  /** Where each lesson state sent to a learner's pages is also published (the class grid listens). */
  bus?: ProgressBus;
}

export class ExerciseChecker {
  private readonly learners = new Map<string, LearnerChecks>();
  private readonly opts: CheckerOptions;
  private closed = false;

  /** One slot per check run in flight, over all learners. */
  private readonly runSlots: Semaphore;

  constructor(opts: CheckerOptions) {
    this.opts = opts;
    this.runSlots = new Semaphore(opts.maxConcurrentRuns ?? 8);
  }

  /** Stops watching every sandbox; runs still in flight finish without recording. */
  close(): void {
    this.closed = true;
    for (const lc of this.learners.values()) this.stopWatching(lc);
  }

  hasLesson(lesson: string): boolean {
    return this.opts.lessons.has(lesson);
  }

  /** A page showing `lesson` attached: it gets the lesson's state now and after every run. */
  subscribe(learner: string, sub: ExerciseSubscriber): void {
    if (!sub.lesson || !this.opts.lessons.has(sub.lesson)) return;
    const lc = this.learner(learner);
    lc.subscribers.add(sub);
    sub.sendMessage(this.stateMessage(learner, sub.lesson, sub.lang, lc.running));
    if (lc.containerId) {
      void this.ensureEvents(learner, lc);
      this.trigger(learner, 'attach');
    }
  }

  /** Drops what is kept for a learner who left (live results); a later subscribe starts afresh. */
  forget(learner: string): void {
    const lc = this.learners.get(learner);
    if (!lc || lc.subscribers.size > 0) return;
    this.stopWatching(lc);
    this.learners.delete(learner);
  }

  unsubscribe(learner: string, sub: ExerciseSubscriber): void {
    const lc = this.learners.get(learner);
    if (!lc) return;
    lc.subscribers.delete(sub);
    if (lc.subscribers.size === 0) this.stopWatching(lc);
  }

  /** The sandbox is up (ready, with a shell): watch its engine and evaluate. */
  sandboxReady(learner: string, containerId: string): void {
    const lc = this.learner(learner);
    if (lc.containerId !== containerId) {
      this.stopWatching(lc);
      lc.containerId = containerId;
      if (lc.lastContainerId !== undefined && lc.lastContainerId !== containerId) {
        // A new sandbox (reset): what the old one showed is not true of this one.
        lc.afterReset = true;
        lc.resetAt = Date.now();
        lc.lessons.clear();
      }
      lc.lastContainerId = containerId;
      for (const live of lc.lessons.values()) live.checkedSetup = false;
    }
    if (lc.subscribers.size === 0) return;
    void this.ensureEvents(learner, lc);
    this.trigger(learner, 'attach');
  }

  /** The sandbox stopped or was removed: stop watching; results stay until the next run. */
  sandboxDown(learner: string): void {
    const lc = this.learners.get(learner);
    if (!lc) return;
    this.stopWatching(lc);
    lc.containerId = undefined;
  }

  /** Schedules a run; bursts collapse into one, and a run never overlaps another. */
  trigger(learner: string, why: Trigger): void {
    const lc = this.learners.get(learner);
    if (this.closed || !lc || !lc.containerId || lc.subscribers.size === 0) return;
    if (why === 'check') lc.attempt = true;
    if (lc.running) {
      lc.again = true;
      return;
    }
    const due = Date.now() + DEBOUNCE_MS[why];
    if (lc.timer && lc.timerDue <= due) return;
    if (lc.timer) clearTimeout(lc.timer);
    lc.timerDue = due;
    lc.timer = setTimeout(() => {
      lc.timer = undefined;
      void this.run(learner, lc);
    }, DEBOUNCE_MS[why]);
  }

  /** Shows the next hint (recorded). Graded lessons have none. */
  hint(learner: string, sub: ExerciseSubscriber, exerciseId: string): void {
    const found = this.find(sub.lesson, exerciseId);
    if (!found || found.file.graded) return;
    const total = found.exercise.hints[sub.lang].length;
    if (total > 0) this.opts.store.useHint(learner, sub.lesson!, exerciseId, total);
    this.broadcast(learner, sub.lesson!);
  }

  /** Reveals the reference solution when the lesson's rule allows it (recorded). */
  revealSolution(learner: string, sub: ExerciseSubscriber, exerciseId: string): void {
    const found = this.find(sub.lesson, exerciseId);
    if (!found || found.file.graded) return;
    const rows = this.progressRows(learner, sub.lesson!);
    const state = this.exerciseState(learner, sub.lesson!, found.file, found.exercise, sub.lang, rows);
    if (!state.canRevealSolution) return;
    this.opts.store.revealSolution(learner, sub.lesson!, exerciseId);
    this.broadcast(learner, sub.lesson!);
  }

  /** Grades a quiz (recorded: attempts, first pass) and sends the results with explanations. */
  answerQuiz(learner: string, sub: ExerciseSubscriber, quizId: string, answers: number[][]): void {
    const file = sub.lesson ? this.opts.lessons.get(sub.lesson) : undefined;
    const quiz = file?.quizzes.find((q) => q.id === quizId);
    if (!file || !quiz) return;
    const correct = gradeQuiz(quiz, answers);
    const { store } = this.opts;
    const lesson = sub.lesson!;
    // A graded quiz takes a fixed number of submissions; the last one counts, and
    // nothing tells the learner which answers were right before it.
    const used = store.progress(learner, lesson).find((r) => r.exercise === quizKey(quizId))?.attempts ?? 0;
    const allowed = file.graded ? submissionsOf(quiz) : Infinity;
    if (used >= allowed) return this.broadcast(learner, lesson); // none left: the page shows the final result
    store.transaction(() => {
      store.addAttempt(learner, lesson, quizKey(quizId));
      if (correct.every(Boolean) && (!file.graded || used + 1 === allowed)) store.markPassed(learner, lesson, quizKey(quizId));
      store.saveQuizAnswers(learner, lesson, quizId, answers.slice(0, quiz.questions.length));
      if (file.graded) this.recordScore(learner, lesson, file);
    });
    this.broadcast(learner, lesson);
  }

  /** Runs a lesson's checks once, outside live checking (the lesson verifier uses this). */
  async evaluateOnce(containerId: string, lesson: string, exercises: Exercise[], withSetup: boolean): Promise<{ exercise: string; passed: boolean; checks: boolean[]; feedback: string[] }[]> {
    const plan: CheckPlan = { exercises };
    if (withSetup) plan.setup = this.setupFor(lesson, exercises);
    let began = Date.now();
    let parsed = parseRunOutput(await this.execPlan(containerId, plan), plan);
    if (parsed.results.flat().some((r) => r?.exitCode === RECHECK_EXIT)) {
      // As live checking does: a "keeps running" check is decided once its window has passed.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, began + RUNNING_WINDOW_MS + 100 - Date.now())));
      delete plan.setup;
      began = Date.now();
      parsed = parseRunOutput(await this.execPlan(containerId, plan), plan);
    }
    const { results, extras } = parsed;
    return exercises.map((exercise, e) => {
      const checks = results[e]!.map((r) => r?.exitCode === 0);
      const feedback = exercise.checks.map((check, c) => (checks[c] ? '' : checkFeedback(check, results[e]![c]!, extras, 'en')));
      return { exercise: exercise.id, passed: checks.every(Boolean), checks, feedback };
    });
  }

  private learner(learner: string): LearnerChecks {
    let lc = this.learners.get(learner);
    if (!lc) {
      lc = new LearnerChecks();
      this.learners.set(learner, lc);
    }
    return lc;
  }

  private find(lesson: string | undefined, exerciseId: string): { file: ExerciseFile; exercise: Exercise } | undefined {
    const file = lesson ? this.opts.lessons.get(lesson) : undefined;
    const exercise = file?.exercises.find((e) => e.id === exerciseId);
    return file && exercise ? { file, exercise } : undefined;
  }

  private async ensureEvents(learner: string, lc: LearnerChecks): Promise<void> {
    if (lc.stopEvents || !lc.containerId) return;
    const id = lc.containerId;
    lc.stopEvents = () => {}; // claimed while the exec starts
    try {
      const stop = await this.opts.runtime.watchEvents(id, () => this.trigger(learner, 'event'));
      if (lc.containerId !== id || lc.subscribers.size === 0) return stop();
      lc.stopEvents = stop;
    } catch (err) {
      lc.stopEvents = undefined;
      this.opts.log.warn({ learner: shortHandle(learner), err: (err as Error).message }, 'cannot follow sandbox engine events');
    }
  }

  private stopWatching(lc: LearnerChecks): void {
    lc.stopEvents?.();
    lc.stopEvents = undefined;
    if (lc.timer) clearTimeout(lc.timer);
    lc.timer = undefined;
    if (lc.recheck) clearTimeout(lc.recheck);
    lc.recheck = undefined;
  }

  private setupFor(lesson: string, exercises: Exercise[]): CheckPlan['setup'] {
    const scripts = exercises.flatMap((e) => (e.setup ? [`# ${e.id}\n${e.setup}`] : []));
    if (!scripts.length) return undefined;
    const script = scripts.join('\n');
    const hash = createHash('sha256').update(script).digest('hex').slice(0, 12);
    return { lesson, script, marker: `.berth/setup/${lesson}-${hash}` };
  }

  private async run(learner: string, lc: LearnerChecks): Promise<void> {
    const containerId = lc.containerId;
    if (!containerId || lc.running) return;
    lc.running = true;
    lc.again = false;
    const attempt = lc.attempt;
    lc.attempt = false;
    const lessons = new Set([...lc.subscribers].flatMap((s) => (s.lesson ? [s.lesson] : [])));
    try {
      for (const lesson of lessons) this.broadcast(learner, lesson);
      for (const lesson of lessons) await this.runLesson(learner, lc, containerId, lesson, attempt);
    } finally {
      lc.running = false;
    }
    if (this.closed) return;
    for (const lesson of lessons) this.broadcast(learner, lesson);
    if (lc.again) this.trigger(learner, 'event');
  }

  private async runLesson(learner: string, lc: LearnerChecks, containerId: string, lesson: string, attempt: boolean): Promise<void> {
    const file = this.opts.lessons.get(lesson)!;
    if (file.exercises.length === 0) return;
    const live = this.lessonLive(lc, lesson);
    const plan: CheckPlan = { exercises: file.exercises, evidence: file.graded };
    if (!live.checkedSetup) plan.setup = this.setupFor(lesson, file.exercises);
    const began = Date.now();
    let stdout = '';
    try {
      stdout = await this.execPlan(containerId, plan);
      live.checkedSetup = true;
    } catch (err) {
      this.opts.log.warn({ learner: shortHandle(learner), lesson, err: (err as Error).message }, 'check run failed');
    }
    if (this.closed) return; // the store may be gone
    this.opts.onRun?.(Date.now() - began);
    const { results, extras } = parseRunOutput(stdout, plan);
    if (results.flat().some((r) => r?.exitCode === RECHECK_EXIT)) this.recheckAfterWindow(learner, lc, began);
    const { store } = this.opts;
    // One commit for the whole run, not one per exercise.
    store.transaction(() => this.recordRun(learner, lesson, file, live, results, extras, attempt));
    lc.afterReset = false;
  }

  /** Runs again once the "keeps running" window of a run that began at `began` has passed. */
  private recheckAfterWindow(learner: string, lc: LearnerChecks, began: number): void {
    if (lc.recheck) return;
    lc.recheck = setTimeout(() => {
      lc.recheck = undefined;
      this.trigger(learner, 'event');
    }, Math.max(0, began + RUNNING_WINDOW_MS + 100 - Date.now()));
  }

  private recordRun(
    learner: string,
    lesson: string,
    file: ExerciseFile,
    live: LessonLive,
    results: ReturnType<typeof parseRunOutput>['results'],
    extras: Extras,
    attempt: boolean,
  ): void {
    const { store } = this.opts;
    file.exercises.forEach((exercise, e) => {
      const checks = results[e]!;
      const outcome = runOutcome(exercise, checks, extras);
      live.results.set(exercise.id, outcome);
      const seen = JSON.stringify([checks.map((r) => r?.exitCode ?? null), outcome.feedback?.en ?? '']);
      const first = live.baseline.get(exercise.id);
      if (first === undefined) live.baseline.set(exercise.id, seen);
      else if (first !== seen) store.markTried(learner, lesson, exercise.id);
      if (outcome.status === 'passed') {
        store.markPassed(learner, lesson, exercise.id);
        // The grade's evidence: kept from the first pass (later runs do not replace it).
        if (file.graded) store.recordEvidence(learner, lesson, exercise.id, evidenceOf(exercise, checks));
      } else if (attempt) store.addAttempt(learner, lesson, exercise.id);
    });
    if (file.graded) this.recordScore(learner, lesson, file);
  }

  /**
   * Runs a plan in the sandbox when a run slot is free: its setup (if any) as the
   * learner, whose files it writes, then its checks in one exec as the checker, a
   * user the learner cannot reach (compile.ts). Returns the checks' stdout.
   */
  private async execPlan(containerId: string, plan: CheckPlan): Promise<string> {
    await this.runSlots.acquire();
    try {
      const setup = buildSetupScript(plan);
      if (setup) await this.opts.runtime.exec(containerId, ['bash', '-c', setup], SETUP_TIMEOUT_MS);
      const result = await this.opts.runtime.exec(containerId, ['bash', '-c', buildRunScript(plan)], RUN_TIMEOUT_MS, 'checker');
      return result.stdout;
    } finally {
      this.runSlots.release();
    }
  }

  private lessonLive(lc: LearnerChecks, lesson: string): LessonLive {
    let live = lc.lessons.get(lesson);
    if (!live) {
      live = { results: new Map(), checkedSetup: false, baseline: new Map() };
      lc.lessons.set(lesson, live);
    }
    return live;
  }

  /** Graded lessons: passed exercises and quizzes over all of them. */
  private recordScore(learner: string, lesson: string, file: ExerciseFile): void {
    const ids = progressIds(file);
    const passed = this.opts.store.progress(learner, lesson).filter((r) => ids.has(r.exercise) && r.firstPassedAt !== null).length;
    this.opts.store.recordScore(learner, lesson, passed, ids.size);
  }

  private broadcast(learner: string, lesson: string): void {
    const lc = this.learners.get(learner);
    if (!lc) return;
    for (const sub of lc.subscribers) if (sub.lesson === lesson) sub.sendMessage(this.stateMessage(learner, lesson, sub.lang, lc.running));
    if (this.opts.bus?.active) this.opts.bus.publish(this.progressOf(learner, lesson));
  }

  /** A lesson's progress as the bus carries it: the same verdicts the learner's page shows, in both languages. */
  progressOf(learner: string, lesson: string): ProgressEvent {
    const file = this.opts.lessons.get(lesson);
    const rows = this.progressRows(learner, lesson);
    const lc = this.learners.get(learner);
    const base = (id: string): Omit<ProgressItem, 'status'> => {
      const row = rows.get(id);
      return {
        id,
        attempts: row?.attempts ?? 0,
        hintsUsed: row?.hintsUsed ?? 0,
        solutionRevealed: row?.solutionRevealedAt != null,
        passedAt: row?.firstPassedAt ?? null,
        triedAt: row?.triedAt ?? null,
      };
    };
    const items: ProgressItem[] = (file?.exercises ?? []).map((exercise) => {
      const row = rows.get(exercise.id);
      const shown = shownResult(row, lc?.lessons.get(lesson)?.results.get(exercise.id));
      const item: ProgressItem = { ...base(exercise.id), status: row?.firstPassedAt != null ? 'passed' : shown && shown.status !== 'pending' ? 'failing' : isTried(row) ? 'failing' : 'pending' };
      if (item.status === 'failing' && shown?.feedback) item.feedback = { ko: shown.feedback.ko.slice(0, 500), en: shown.feedback.en.slice(0, 500) };
      return item;
    });
    for (const quiz of file?.quizzes ?? []) {
      const row = rows.get(quizKey(quiz.id));
      items.push({ ...base(quizKey(quiz.id)), status: row?.firstPassedAt != null ? 'passed' : (row?.attempts ?? 0) > 0 ? 'failing' : 'pending' });
    }
    return { type: 'progress', learner, lesson, checking: lc?.running ?? false, items, at: Date.now() };
  }

  private stateMessage(learner: string, lesson: string, lang: Lang, checking: boolean): ServerMessage {
    const file = this.opts.lessons.get(lesson)!;
    const rows = this.progressRows(learner, lesson);
    const evidence = file.graded ? new Map(this.opts.store.evidence(learner, lesson).map((r) => [r.exercise, r])) : undefined;
    const items = file.exercises.map((exercise) => this.exerciseState(learner, lesson, file, exercise, lang, rows, evidence?.get(exercise.id)));
    const quizzes = file.quizzes.map((quiz) => this.quizState(learner, lesson, file, quiz, lang, rows));
    const msg: ServerMessage = { t: 'exercises', lesson, graded: file.graded, checking, items, quizzes };
    if (file.graded) {
      const passed = items.filter((i) => i.status === 'passed').length + quizzes.filter((q) => q.passed).length;
      msg.score = { passed, total: items.length + quizzes.length };
    }
    return msg;
  }

  /** The learner's progress rows of one lesson, by exercise (or quiz key). */
  private progressRows(learner: string, lesson: string): Map<string, ProgressRow> {
    return new Map(this.opts.store.progress(learner, lesson).map((r) => [r.exercise, r]));
  }

  private quizState(learner: string, lesson: string, file: ExerciseFile, quiz: Quiz, lang: Lang, rows: Map<string, ProgressRow>): QuizState {
    const row = rows.get(quizKey(quiz.id));
    const state: QuizState = { id: quiz.id, passed: row?.firstPassedAt != null, attempts: row?.attempts ?? 0 };
    if (file.graded) state.submissionsLeft = Math.max(0, submissionsOf(quiz) - state.attempts);
    const answers = this.opts.store.quizAnswers(learner, lesson, quiz.id);
    if (answers) {
      state.answers = answers;
      if (state.submissionsLeft !== 0 && file.graded) return state; // results after the last submission
      state.correct = gradeQuiz(quiz, answers);
      // A graded quiz says whether each answer was right, not why (that would give it away).
      if (!file.graded) state.explanations = quiz.questions.map((q) => q.explanation[lang]);
    }
    return state;
  }

  private exerciseState(
    learner: string,
    lesson: string,
    file: ExerciseFile,
    exercise: Exercise,
    lang: Lang,
    rows: Map<string, ProgressRow>,
    evidence?: EvidenceRow,
  ): ExerciseState {
    const row = rows.get(exercise.id);
    const lc = this.learners.get(learner);
    const live = lc?.lessons.get(lesson)?.results.get(exercise.id);
    const passed = row?.firstPassedAt != null;
    const shown = shownResult(row, live);
    const status = passed ? 'passed' : (shown?.status ?? 'pending');
    const hints = file.graded ? [] : exercise.hints[lang];
    const hintsUsed = Math.min(row?.hintsUsed ?? 0, hints.length);
    const attempts = row?.attempts ?? 0;
    const threshold = file.reveal_solution_after;
    const state: ExerciseState = {
      id: exercise.id,
      status,
      attempts,
      hintsUsed,
      hintsTotal: hints.length,
      hints: hints.slice(0, hintsUsed),
      canRevealSolution: !file.graded && (passed || hintsUsed >= Math.min(threshold, hints.length || threshold) || attempts >= threshold),
    };
    if (passed && row?.firstPassedAt) state.passedAt = row.firstPassedAt;
    if (passed) {
      // The success note describes the sandbox as it was when it passed: say so when
      // that is no longer what this sandbox shows (after a reset, or undone since).
      const now = live?.status;
      const beforeReset = (row?.firstPassedAt ?? 0) < (lc?.resetAt ?? 0);
      if (lc?.afterReset && !live) state.success = PASSED_BEFORE_RESET.checking[lang];
      else if (now === 'failing') state.success = (beforeReset ? PASSED_BEFORE_RESET.gone : PASSED_EARLIER)[lang];
      else if (exercise.success) state.success = exercise.success[lang];
    }
    if (!passed && shown?.feedback) state.feedback = shown.feedback[lang].slice(0, 2000);
    if (!file.graded && row?.solutionRevealedAt != null) state.solution = exercise.solution;
    if (passed && evidence) state.evidence = { at: evidence.recordedAt, checks: evidence.checks.slice(0, 20) };
    return state;
  }
}
