/**
 * What a quiz (src/components/lesson/Quiz.astro) shows: pure decisions, tested
 * under `node --test`; src/client/quiz.ts applies them to the DOM.
 *
 * The page never knows the right answers: it sends the learner's choices and
 * shows what the server's QuizState says about them (`correct`, `explanations`).
 */
import type { QuizState } from '../../sandbox-server/src/protocol.ts';
import type { Strings } from '../i18n/strings.ts';

/** A quiz as the task list shows it (the same words as exercise statuses, for CSS). */
export type QuizStatus = 'pending' | 'passed' | 'failing';

export const QUIZ_ICON = { correct: '✓', wrong: '✗', passed: '✓', failing: '✗', pending: '○' } as const;

/** Per question, the indexes of the checked choices, in order. */
export function answersFromSelection(selection: readonly (readonly boolean[])[]): number[][] {
  return selection.map((checked) => checked.flatMap((on, i) => (on ? [i] : [])));
}

/** Every question has at least one choice (radio: exactly one; checkboxes: any number above zero). */
export function canSubmit(answers: readonly (readonly number[])[], questions: number): boolean {
  return questions > 0 && answers.length === questions && answers.every((a) => a.length > 0);
}

/** The same set of choices, whatever the order. */
export function sameChoices(a: readonly number[] | undefined, b: readonly number[] | undefined): boolean {
  if (!a || !b) return false;
  const x = [...new Set(a)].sort((m, n) => m - n);
  const y = [...new Set(b)].sort((m, n) => m - n);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * The server's recorded answers, shaped for a form with these questions: one
 * list per question, only indexes that exist, at most one for a single-answer
 * question. Undefined when the server has none.
 */
export function restoredAnswers(state: QuizState | undefined, shape: readonly { choices: number; multiple: boolean }[]): number[][] | undefined {
  if (!state?.answers) return undefined;
  return shape.map((q, i) => {
    const valid = [...new Set(state.answers![i] ?? [])].filter((c) => Number.isInteger(c) && c >= 0 && c < q.choices).sort((m, n) => m - n);
    return q.multiple ? valid : valid.slice(0, 1);
  });
}

export function quizStatus(state: QuizState | undefined): QuizStatus {
  if (state?.passed) return 'passed';
  if ((state?.submissionsLeft ?? 0) > 0) return 'pending'; // graded: no verdict before the last submission
  return state && state.attempts > 0 ? 'failing' : 'pending';
}

export interface QuestionView {
  /** Set once the server graded the choices the form shows now; undefined hides the verdict. */
  correct?: boolean;
  icon?: string;
  label?: string;
  /** Why (absent in graded lessons, and until the question is graded). */
  explanation?: string;
}

export interface QuizView {
  passed: boolean;
  status: QuizStatus;
  questions: QuestionView[];
  /** The summary line (a polite live region); empty before any answer. */
  summary: { kind: 'none' | 'score' | 'passed'; icon: string; text: string; detail?: string };
  attempts?: string;
  submittable: boolean;
  /** A graded quiz with no submissions left: Submit stays off for good. */
  closed: boolean;
}

/**
 * The quiz for a server state and the choices the form holds now. A question's
 * verdict and explanation show only while its choices are the ones the server
 * graded: change an answer and its mark goes away until the next Submit.
 */
export function quizView(state: QuizState | undefined, current: readonly (readonly number[])[], s: Strings): QuizView {
  const q = s.quiz;
  const graded = state?.correct && state.answers ? state.correct : undefined;
  const questions: QuestionView[] = current.map((chosen, i) => {
    const correct = graded?.[i];
    if (correct === undefined || !sameChoices(chosen, state!.answers![i])) return {};
    const explanation = state!.explanations?.[i];
    return {
      correct,
      icon: correct ? QUIZ_ICON.correct : QUIZ_ICON.wrong,
      label: correct ? q.correct : q.wrong,
      ...(explanation ? { explanation } : {}),
    };
  });

  const left = state?.submissionsLeft;
  let summary: QuizView['summary'] = { kind: 'none', icon: '', text: '' };
  if (left !== undefined && left > 0 && state!.attempts > 0) summary = { kind: 'none', icon: '', text: q.submitted(left) };
  else if (graded && left === 0) {
    const total = current.length || graded.length;
    const right = graded.slice(0, total).filter(Boolean).length;
    summary = right === total && total > 0
      ? { kind: 'passed', icon: QUIZ_ICON.passed, text: q.allCorrect(total), detail: q.finalSubmission }
      : { kind: 'score', icon: QUIZ_ICON.failing, text: q.score(right, total), detail: q.finalSubmission };
  } else if (graded) {
    const total = current.length || graded.length;
    const right = graded.slice(0, total).filter(Boolean).length;
    if (right === total && total > 0) summary = { kind: 'passed', icon: QUIZ_ICON.passed, text: q.allCorrect(total) };
    else {
      const more = state?.passed ? q.passedBefore : q.tryAgain;
      summary = { kind: 'score', icon: QUIZ_ICON.failing, text: q.score(right, total), detail: more };
    }
  } else if (state?.passed) summary = { kind: 'passed', icon: QUIZ_ICON.passed, text: q.passedBefore };

  return {
    passed: state?.passed === true,
    status: quizStatus(state),
    questions,
    summary,
    ...(state && state.attempts > 0 ? { attempts: q.attempts(state.attempts) } : left !== undefined ? { attempts: q.submissionsAllowed(left) } : {}),
    submittable: canSubmit(current, current.length) && left !== 0,
    closed: left === 0,
  };
}

/** Whether an `exercises` message answers a Submit sent when the quiz had `attempts` attempts. */
export function answersSubmit(attempts: number, state: QuizState | undefined): boolean {
  return state !== undefined && state.attempts > attempts;
}
