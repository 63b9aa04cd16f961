/**
 * What an exercise card shows for a state from the server: pure decisions,
 * tested under `node --test`; src/client/exercises.ts applies them to the DOM.
 */
import type { ExerciseState, ExerciseStatus, QuizState } from '../../sandbox-server/src/protocol.ts';
import type { Strings } from '../i18n/strings.ts';

/** The icon beside each status: shape and text carry it, not colour alone. */
export const STATUS_ICON: Record<ExerciseStatus, string> = {
  pending: '○',
  passed: '✓',
  failing: '✗',
  timeout: '⏱',
  error: '!',
};

export interface CardContext {
  /** Graded lessons show no hints and no solution. */
  graded: boolean;
  /** Hint count known at build time, used until the server says. */
  hintsTotal: number;
}

export interface ButtonView {
  hidden: boolean;
  /** Shown as aria-disabled, so the button keeps focus. */
  disabled: boolean;
  label: string;
}

export interface CardView {
  status: ExerciseStatus;
  icon: string;
  label: string;
  /** Feedback (failing, timeout, error) or the success note (passed), as plain text. */
  detail?: { kind: 'feedback' | 'success'; text: string };
  attempts?: string;
  hints: string[];
  hint: ButtonView;
  solution: ButtonView & { revealed?: string; lockedNote?: string };
  /** Graded and passed: what each check observed then (untrusted sandbox text, plain text only). */
  evidence?: { at: number; lines: string[] };
}

export function cardView(state: ExerciseState | undefined, ctx: CardContext, s: Strings): CardView {
  const e = s.exercise;
  const status: ExerciseStatus = state?.status ?? 'pending';
  let detail: CardView['detail'];
  if (status === 'passed' && state?.success) detail = { kind: 'success', text: state.success };
  // Pending carries feedback only while the server watches a just-started container.
  else if (status !== 'passed' && state?.feedback) detail = { kind: 'feedback', text: state.feedback };

  const hintsTotal = state?.hintsTotal ?? ctx.hintsTotal;
  const hintsUsed = state?.hintsUsed ?? 0;
  const left = Math.max(0, hintsTotal - hintsUsed);
  const hint: ButtonView = {
    hidden: ctx.graded || hintsTotal === 0,
    disabled: left === 0,
    label: left === 0 ? e.noHintsLeft : e.hint(left),
  };

  const revealed = ctx.graded ? undefined : state?.solution;
  const canReveal = !ctx.graded && state?.canRevealSolution === true;
  const solution: CardView['solution'] = {
    hidden: ctx.graded || revealed !== undefined,
    disabled: !canReveal,
    label: e.showSolution,
    ...(revealed !== undefined ? { revealed } : {}),
    ...(!ctx.graded && revealed === undefined && !canReveal && status !== 'passed' ? { lockedNote: e.solutionLocked } : {}),
  };

  return {
    status,
    icon: STATUS_ICON[status],
    label: e.status[status],
    ...(detail ? { detail } : {}),
    ...(state && state.attempts > 0 ? { attempts: e.attempts(state.attempts) } : {}),
    hints: ctx.graded ? [] : (state?.hints ?? []),
    hint,
    solution,
    ...(ctx.graded && status === 'passed' && state?.evidence ? { evidence: { at: state.evidence.at, lines: state.evidence.checks.map((c) => `${c.type}: ${c.observed || '-'}`) } } : {}),
  };
}

export interface Tally {
  passed: number;
  total: number;
}

/**
 * Passed / total over the exercises and quizzes the page shows (by id), from
 * the server's items and quiz states (a quiz counts once it was passed).
 */
export function tally(
  ids: readonly string[],
  items: readonly ExerciseState[] | undefined,
  quizIds: readonly string[] = [],
  quizzes: readonly QuizState[] | undefined = [],
): Tally {
  const passed = new Set((items ?? []).filter((i) => i.status === 'passed').map((i) => i.id));
  const passedQuizzes = new Set((quizzes ?? []).filter((q) => q.passed).map((q) => q.id));
  return {
    passed: ids.filter((id) => passed.has(id)).length + quizIds.filter((id) => passedQuizzes.has(id)).length,
    total: ids.length + quizIds.length,
  };
}

/** The lesson's summary line: a graded lesson's tally is its score ("Score 3/5"), others say "3 of 5 done". */
export function summaryText(counts: Tally, graded: boolean, s: Strings): string {
  return graded ? s.progress.score(counts.passed, counts.total) : s.exercise.done(counts.passed, counts.total);
}

/** Short progress text for a badge: "✓ 3/3" when all done, "2/3" otherwise. */
export function badgeText({ passed, total }: Tally): string {
  return passed >= total && total > 0 ? `✓ ${passed}/${total}` : `${passed}/${total}`;
}

/** A button press waiting for the server's answer, with the counts seen when it was sent. */
export interface PendingAction {
  action: 'check' | 'hint' | 'solution';
  attempts: number;
  hintsUsed: number;
}

export function pendingAction(action: PendingAction['action'], state: ExerciseState | undefined): PendingAction {
  return { action, attempts: state?.attempts ?? 0, hintsUsed: state?.hintsUsed ?? 0 };
}

/**
 * Whether an `exercises` message answers a pending press. A Check is answered
 * when no run is in flight or the press was counted as an attempt (live checks
 * may keep `checking` set); a hint when one more is used (or none are left);
 * a solution when it is there (or the server will not reveal it).
 */
export function answers(p: PendingAction, state: ExerciseState | undefined, checking: boolean): boolean {
  switch (p.action) {
    case 'check':
      return !checking || (state?.attempts ?? 0) > p.attempts;
    case 'hint':
      return state !== undefined && (state.hintsUsed > p.hintsUsed || state.hintsUsed >= state.hintsTotal);
    case 'solution':
      return state !== undefined && (state.solution !== undefined || !state.canRevealSolution);
  }
}
