/**
 * Quizzes (src/components/lesson/Quiz.astro), driven by the server's
 * `exercises` messages (their `quizzes`), which the sandbox panel re-dispatches
 * as EXERCISES_EVENT. Submit sends EXERCISE_ACTION_EVENT `quiz` with the
 * chosen indexes for the panel to forward; the server grades them.
 *
 * The form is filled from the server's recorded answers (a reload, another
 * tab) until the learner changes something; after that their choices stay
 * until they submit. Explanations are set with textContent; backticks become
 * <code> elements built here, never parsed HTML.
 */
import type { QuizState } from '../../sandbox-server/src/protocol.ts';
import type { ExercisesMessage } from './terminal-session.ts';
import { EXERCISES_EVENT, EXERCISE_ACTION_EVENT, type ExerciseActionDetail } from './events.ts';
import { answersFromSelection, answersSubmit, quizView, restoredAnswers } from './quiz-view.ts';
import { splitInlineCode } from '../lessons/inline-code.ts';
import { isLang, t, type Strings } from '../i18n/strings.ts';

/** How long a Submit may wait for its answer. */
const ANSWER_TIMEOUT_MS = 15_000;

function setText(el: Element | null | undefined, text: string): void {
  if (el && el.textContent !== text) el.textContent = text;
}

function setRich(el: HTMLElement | null, text: string): void {
  if (!el || el.dataset.text === text) return;
  el.dataset.text = text;
  el.replaceChildren();
  for (const run of splitInlineCode(text)) {
    if (run.code) {
      const code = document.createElement('code');
      code.textContent = run.text;
      el.append(code);
    } else el.append(document.createTextNode(run.text));
  }
}

class QuizCard {
  readonly el: HTMLElement;
  readonly id: string;
  readonly #s: Strings;
  readonly #form: HTMLFormElement;
  readonly #questions: HTMLFieldSetElement[];
  readonly #submit: HTMLButtonElement | null;
  #state: QuizState | undefined;
  /** The learner changed a choice since the form last matched the server's answers. */
  #touched = false;
  /** Attempts seen when a Submit was sent, until its answer arrives. */
  #pending: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(el: HTMLElement, s: Strings) {
    this.el = el;
    this.id = el.dataset.quiz ?? '';
    this.#s = s;
    this.#form = el.querySelector<HTMLFormElement>('form.quiz-form')!;
    this.#questions = [...el.querySelectorAll<HTMLFieldSetElement>('fieldset[data-question]')];
    this.#submit = el.querySelector<HTMLButtonElement>('button[data-action="submit"]');
    this.#form.addEventListener('change', () => {
      this.#touched = true;
      this.render();
    });
    this.#form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.#send();
    });
    this.render();
  }

  #inputs(q: HTMLFieldSetElement): HTMLInputElement[] {
    return [...q.querySelectorAll<HTMLInputElement>('input[type="radio"], input[type="checkbox"]')];
  }

  /** The form's choices now: per question, the checked indexes. */
  #current(): number[][] {
    return answersFromSelection(this.#questions.map((q) => this.#inputs(q).map((input) => input.checked)));
  }

  #apply(answers: number[][]): void {
    this.#questions.forEach((q, i) => {
      for (const input of this.#inputs(q)) input.checked = (answers[i] ?? []).includes(Number(input.value));
    });
  }

  #send(): void {
    if (this.#pending !== undefined) return;
    const v = quizView(this.#state, this.#current(), this.#s);
    if (!v.submittable) return;
    const detail: ExerciseActionDetail = { action: 'quiz', exercise: this.id, answers: this.#current() };
    this.el.dispatchEvent(new CustomEvent(EXERCISE_ACTION_EVENT, { bubbles: true, detail }));
    if (detail.result !== 'sent') {
      this.#note(this.#s.exercise.offline);
      return;
    }
    this.#note(undefined);
    this.#touched = false;
    this.#pending = this.#state?.attempts ?? 0;
    this.#busy(true);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#pending = undefined;
      this.#busy(false);
      this.#note(this.#s.exercise.noAnswer);
    }, ANSWER_TIMEOUT_MS);
  }

  #busy(on: boolean): void {
    if (on) {
      this.el.dataset.submitting = '';
      this.#submit?.setAttribute('aria-busy', 'true');
    } else {
      delete this.el.dataset.submitting;
      this.#submit?.removeAttribute('aria-busy');
    }
  }

  #note(text: string | undefined): void {
    const note = this.el.querySelector<HTMLElement>('.quiz-note');
    if (!note) return;
    note.textContent = text ?? '';
    note.hidden = !text;
  }

  /** A new state from the server. */
  update(state: QuizState | undefined): void {
    let answered = false;
    if (this.#pending !== undefined && answersSubmit(this.#pending, state)) {
      answered = true;
      this.#pending = undefined;
      clearTimeout(this.#timer);
      this.#busy(false);
    }
    this.#state = state;
    if (!this.#touched) {
      const shape = this.#questions.map((q) => ({ choices: this.#inputs(q).length, multiple: q.dataset.multiple !== undefined }));
      const restored = restoredAnswers(state, shape);
      if (restored) this.#apply(restored);
    }
    this.render(answered);
  }

  render(answered = false): void {
    const s = this.#s;
    const v = quizView(this.#state, this.#current(), s);
    this.el.dataset.passed = String(v.passed);
    this.el.dataset.status = v.status;

    this.#questions.forEach((q, i) => {
      const qv = v.questions[i] ?? {};
      const result = q.querySelector<HTMLElement>('.quiz-result');
      if (qv.correct === undefined) {
        delete q.dataset.correct;
        q.removeAttribute('aria-describedby');
        if (result) result.hidden = true;
        return;
      }
      q.dataset.correct = String(qv.correct);
      if (!result) return;
      result.hidden = false;
      // The verdict describes the group (read when the learner moves into it).
      q.setAttribute('aria-describedby', result.id);
      setText(result.querySelector('.quiz-icon'), qv.icon ?? '');
      setText(result.querySelector('.quiz-verdict-label'), qv.label ?? '');
      const expl = result.querySelector<HTMLElement>('.quiz-explanation');
      if (expl) {
        setRich(expl.querySelector<HTMLElement>('.quiz-explanation-text'), qv.explanation ?? '');
        expl.hidden = !qv.explanation;
      }
    });

    const need = this.el.querySelector<HTMLElement>('.quiz-need');
    if (need) need.hidden = v.submittable || v.closed;
    if (this.#submit) {
      this.#submit.disabled = !v.submittable;
      // Say why it is disabled; nothing once it is not (a hidden description is still read).
      if (v.submittable || !need) this.#submit.removeAttribute('aria-describedby');
      else this.#submit.setAttribute('aria-describedby', need.id);
    }
    setText(this.el.querySelector('.quiz-attempts'), v.attempts ?? '');

    // Summary (a polite live region). A Submit that changed nothing clears and
    // refills it, so the result is announced again.
    const summary = this.el.querySelector<HTMLElement>('.quiz-summary');
    if (summary) {
      summary.dataset.kind = v.summary.kind;
      const text = summary.querySelector<HTMLElement>('.quiz-summary-text');
      const detail = summary.querySelector<HTMLElement>('.quiz-summary-detail');
      setText(summary.querySelector('.quiz-summary-icon'), v.summary.icon);
      const unchanged = text?.textContent === v.summary.text && (detail?.textContent ?? '') === (v.summary.detail ?? '');
      if (answered && unchanged && text) {
        text.textContent = '';
        requestAnimationFrame(() => (text.textContent = v.summary.text));
      } else setText(text, v.summary.text);
      setText(detail, v.summary.detail ?? '');
    }
  }
}

export function initQuizzes(): void {
  const lang = document.documentElement.lang;
  const s = t(isLang(lang) ? lang : 'ko');
  const quizzes = [...document.querySelectorAll<HTMLElement>('[data-quiz]')].map((el) => new QuizCard(el, s));
  if (quizzes.length === 0) return;
  const lesson = document.querySelector<HTMLElement>('[data-lesson]')?.dataset.lesson;
  document.addEventListener(EXERCISES_EVENT, (ev) => {
    const msg = (ev as CustomEvent<ExercisesMessage>).detail;
    if (!msg || (lesson && msg.lesson !== lesson)) return;
    for (const quiz of quizzes) quiz.update(msg.quizzes.find((q) => q.id === quiz.id));
  });
}
