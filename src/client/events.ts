/** DOM events between lesson code blocks and the sandbox panel. */

/** Dispatched (bubbling) by a Run button; the panel sets `detail.result`. */
export const RUN_EVENT = 'berth:run';
export interface RunEventDetail {
  command: string;
  /** busy: the shell is not at its prompt, so nothing was typed. */
  result?: 'sent' | 'queued' | 'busy';
}

/** Dispatched on `document` by the panel whenever the sandbox state changes. */
export const STATE_EVENT = 'berth:sandbox-state';
export interface StateEventDetail {
  state: string;
}

/**
 * Dispatched on `document` by the panel with every `exercises` message from
 * the server (the full state of the lesson's exercises).
 */
export const EXERCISES_EVENT = 'berth:exercises';

/**
 * Dispatched (bubbling) by an exercise card's Check / Hint / Show solution
 * button or a quiz's Submit button; the panel forwards it to the server and
 * sets `detail.result` (`sent`, or `offline` when the socket is not open;
 * unset: no panel).
 */
export const EXERCISE_ACTION_EVENT = 'berth:exercise-action';
export interface ExerciseActionDetail {
  action: 'check' | 'hint' | 'solution' | 'quiz';
  /** The exercise (hint, solution) or the quiz (quiz). */
  exercise?: string;
  /** `quiz`: per question, the chosen choice indexes. */
  answers?: number[][];
  result?: 'sent' | 'offline';
}
