/**
 * Exercise cards (src/components/lesson/Exercise.astro) and the lesson's
 * progress displays, driven by the server's `exercises` messages, which the
 * sandbox panel re-dispatches as EXERCISES_EVENT. Buttons send EXERCISE_ACTION_EVENT
 * for the panel to forward (`check`, `hint`, `solution`).
 *
 * Everything from the server is set with textContent (feedback can contain
 * text from the learner's sandbox); backticks in authored text become <code>
 * elements built here, never parsed HTML.
 *
 * Progress displays: any `[data-exercise-progress]` element on the page gets
 * the lesson's tally over its exercises and quizzes (src/client/quiz.ts draws
 * the quizzes themselves): `[data-progress-text]` children get "2/3" (`=long`: "2 of 3 done",
 * or "Score 2/3" in a box marked `data-graded`), `progress`
 * elements get value/max, and `[data-exercise-item=<id>]` / `[data-quiz-item=<id>]`
 * list items get `data-status` and a status word in `.item-status`.
 */
import type { ExerciseState, QuizState } from '../../sandbox-server/src/protocol.ts';
import type { ExercisesMessage } from './terminal-session.ts';
import { EXERCISES_EVENT, EXERCISE_ACTION_EVENT, type ExerciseActionDetail } from './events.ts';
import { STATUS_ICON, answers, badgeText, cardView, pendingAction, summaryText, tally, type PendingAction, type Tally } from './exercise-view.ts';
import { PROGRESS_URL, parseProgress } from './progress-view.ts';
import { QUIZ_ICON, quizStatus } from './quiz-view.ts';
import { splitInlineCode } from '../lessons/inline-code.ts';
import { summarizeCommand } from '../lessons/code-meta.ts';
import { isLang, t, type Strings } from '../i18n/strings.ts';

/** How long a press may wait for its answer (a check run is killed after 10 s). */
const ANSWER_TIMEOUT_MS = 15_000;

function appendRich(parent: HTMLElement, text: string): void {
  for (const run of splitInlineCode(text)) {
    if (run.code) {
      const code = document.createElement('code');
      code.textContent = run.text;
      parent.append(code);
    } else parent.append(document.createTextNode(run.text));
  }
}

function setText(el: HTMLElement | null, text: string): void {
  if (el && el.textContent !== text) el.textContent = text;
}

function setAriaDisabled(btn: HTMLButtonElement | null, disabled: boolean): void {
  if (!btn) return;
  if (disabled) btn.setAttribute('aria-disabled', 'true');
  else btn.removeAttribute('aria-disabled');
}

/** A `<berth-code data-run>` block like the lesson's own, so Copy and Run work the same. */
function solutionBlock(command: string, s: Strings): HTMLElement {
  const block = document.createElement('berth-code');
  block.className = 'code-block';
  block.dataset.command = command;
  block.dataset.lang = 'sh';
  block.setAttribute('data-run', '');
  const summary = summarizeCommand(command);
  const bar = document.createElement('div');
  bar.className = 'code-bar';
  const lang = document.createElement('span');
  lang.className = 'code-lang';
  lang.setAttribute('aria-hidden', 'true');
  lang.textContent = `sh · ${s.terminalLabel}`;
  const spacer = document.createElement('span');
  spacer.className = 'code-spacer';
  const status = document.createElement('span');
  status.className = 'code-status';
  status.setAttribute('role', 'status');
  const btn = (action: 'copy' | 'run', label: string, aria: string) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = `code-btn code-btn-${action}`;
    b.dataset.action = action;
    b.setAttribute('aria-label', aria);
    b.textContent = label;
    return b;
  };
  bar.append(lang, spacer, status, btn('copy', s.copy, s.copyLabel(summary)), btn('run', s.run, s.runLabel(summary)));
  const pre = document.createElement('pre');
  pre.className = 'astro-code';
  const code = document.createElement('code');
  code.textContent = command;
  pre.append(code);
  block.append(bar, pre);
  return block;
}

class ExerciseCard {
  readonly el: HTMLElement;
  readonly id: string;
  readonly #s: Strings;
  readonly #graded: boolean;
  readonly #hintsTotal: number;
  #state: ExerciseState | undefined;
  #renderedHints = 0;
  #renderedSolution: string | undefined;
  #pending: PendingAction | undefined;
  /** Messages seen since the last press (none at all: the server did not answer). */
  #heard = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #first = true;

  constructor(el: HTMLElement, s: Strings) {
    this.el = el;
    this.id = el.dataset.exercise ?? '';
    this.#s = s;
    this.#graded = el.dataset.graded !== undefined;
    this.#hintsTotal = Number(el.dataset.hintsTotal ?? 0) || 0;
    el.addEventListener('click', (ev) => this.#onClick(ev));
    const dialog = this.#q<HTMLDialogElement>('.exercise-dialog');
    dialog?.addEventListener('close', () => {
      if (dialog.returnValue === 'reveal') this.#send('solution');
      else this.#q<HTMLButtonElement>('[data-action="solution"]')?.focus();
    });
    this.render();
  }

  #q<T extends Element>(sel: string): T | null {
    return this.el.querySelector<T>(sel);
  }

  #onClick(ev: MouseEvent): void {
    const btn = ev.target instanceof Element ? ev.target.closest<HTMLButtonElement>('button[data-action]') : null;
    if (!btn || btn.closest('.exercise') !== this.el || btn.closest('berth-code')) return;
    if (btn.getAttribute('aria-disabled') === 'true') return;
    const action = btn.dataset.action;
    if (action === 'check') this.#send('check');
    else if (action === 'hint') this.#send('hint');
    else if (action === 'solution') {
      const dialog = this.#q<HTMLDialogElement>('.exercise-dialog');
      if (dialog) {
        dialog.returnValue = '';
        dialog.showModal();
      }
    }
  }

  #send(action: PendingAction['action']): void {
    const detail: ExerciseActionDetail = action === 'check' ? { action } : { action, exercise: this.id };
    this.el.dispatchEvent(new CustomEvent(EXERCISE_ACTION_EVENT, { bubbles: true, detail }));
    if (detail.result !== 'sent') {
      this.#note(this.#s.exercise.offline);
      return;
    }
    this.#note(undefined);
    this.#pending = pendingAction(action, this.#state);
    this.#heard = 0;
    if (action === 'check') this.#busy(true);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#pending = undefined;
      this.#busy(false);
      if (this.#heard === 0) this.#note(this.#s.exercise.noAnswer);
    }, ANSWER_TIMEOUT_MS);
  }

  #busy(on: boolean): void {
    const btn = this.#q<HTMLButtonElement>('[data-action="check"]');
    if (on) {
      this.el.dataset.checking = '';
      btn?.setAttribute('aria-busy', 'true');
    } else {
      delete this.el.dataset.checking;
      btn?.removeAttribute('aria-busy');
    }
  }

  #note(text: string | undefined): void {
    const note = this.#q<HTMLElement>('.exercise-note');
    if (!note) return;
    note.textContent = text ?? '';
    note.hidden = !text;
  }

  /** A new state from the server (`checking`: a check run is in flight). */
  update(state: ExerciseState | undefined, checking: boolean): void {
    this.#heard++;
    let answered: PendingAction['action'] | undefined;
    if (this.#pending && answers(this.#pending, state, checking)) {
      answered = this.#pending.action;
      this.#pending = undefined;
      clearTimeout(this.#timer);
    }
    this.#state = state;
    this.render(answered);
    // Only a press shows the spinner; live checks run quietly in the background.
    this.#busy(this.#pending?.action === 'check');
  }

  render(answered?: 'check' | 'hint' | 'solution'): void {
    const s = this.#s;
    const v = cardView(this.#state, { graded: this.#graded, hintsTotal: this.#hintsTotal }, s);
    this.el.dataset.status = v.status;

    // Status line (a polite live region). After an answered Check that changed
    // nothing, clear and refill it so the result is announced again.
    const icon = this.#q<HTMLElement>('.exercise-icon');
    const label = this.#q<HTMLElement>('.exercise-status-label');
    const detail = this.#q<HTMLElement>('.exercise-detail');
    setText(icon, v.icon);
    const detailText = v.detail?.text ?? '';
    const unchanged = label?.textContent === v.label && (detail?.textContent ?? '') === detailText;
    if (answered === 'check' && unchanged && label) {
      label.textContent = '';
      requestAnimationFrame(() => (label.textContent = v.label));
    } else setText(label, v.label);
    if (detail) {
      if (detail.textContent !== detailText) {
        detail.textContent = '';
        // Feedback may hold sandbox text: appendRich only ever sets textContent
        // (backtick runs become <code> elements), so nothing is parsed as HTML.
        appendRich(detail, detailText);
      }
      detail.hidden = !detailText;
      detail.dataset.kind = v.detail?.kind ?? '';
    }
    setText(this.#q<HTMLElement>('.exercise-attempts'), v.attempts ?? '');

    // Hints: append the newly revealed ones (a reload gets them all at once).
    const hintsBox = this.#q<HTMLElement>('.exercise-hints');
    const list = hintsBox?.querySelector<HTMLOListElement>('ol');
    if (hintsBox && list) {
      if (v.hints.length < this.#renderedHints) {
        list.replaceChildren();
        this.#renderedHints = 0;
      }
      for (const hint of v.hints.slice(this.#renderedHints)) {
        const li = document.createElement('li');
        appendRich(li, hint);
        list.append(li);
      }
      this.#renderedHints = v.hints.length;
      hintsBox.hidden = v.hints.length === 0;
      // Announce hints that arrive later, not the ones restored on load.
      if (!this.#first) list.setAttribute('aria-live', 'polite');
    }
    const hintBtn = this.#q<HTMLButtonElement>('[data-action="hint"]');
    if (hintBtn) {
      hintBtn.hidden = v.hint.hidden;
      setText(hintBtn, v.hint.label);
      setAriaDisabled(hintBtn, v.hint.disabled);
    }

    // Evidence (graded): sandbox text, so textContent only.
    const evidence = this.#q<HTMLDetailsElement>('.exercise-evidence');
    if (evidence) {
      evidence.hidden = !v.evidence;
      const list = evidence.querySelector('ul')!;
      const lines = v.evidence?.lines ?? [];
      if (list.children.length !== lines.length || [...list.children].some((li, i) => li.textContent !== lines[i])) {
        list.replaceChildren(...lines.map((line) => Object.assign(document.createElement('li'), { textContent: line })));
      }
      setText(evidence.querySelector('.exercise-evidence-at'), v.evidence ? s.exercise.evidenceAt(new Date(v.evidence.at).toLocaleString(document.documentElement.lang || undefined)) : '');
    }

    // Solution.
    const solBox = this.#q<HTMLElement>('.exercise-solution');
    if (solBox && v.solution.revealed !== this.#renderedSolution) {
      solBox.querySelector('berth-code')?.remove();
      if (v.solution.revealed !== undefined) solBox.append(solutionBlock(v.solution.revealed, s));
      solBox.hidden = v.solution.revealed === undefined;
      this.#renderedSolution = v.solution.revealed;
      if (answered === 'solution' && v.solution.revealed !== undefined) solBox.focus();
    }
    const solBtn = this.#q<HTMLButtonElement>('[data-action="solution"]');
    if (solBtn) {
      solBtn.hidden = v.solution.hidden;
      setAriaDisabled(solBtn, v.solution.disabled);
      if (v.solution.lockedNote) solBtn.title = v.solution.lockedNote;
      else solBtn.removeAttribute('title');
    }
    this.#first = false;
  }
}

function renderTally(
  root: ParentNode,
  counts: Tally,
  items: readonly ExerciseState[] | undefined,
  quizzes: readonly QuizState[] | undefined,
  s: Strings,
): void {
  root.querySelectorAll<HTMLElement>('[data-exercise-progress]').forEach((box) => {
    box.hidden = false;
    box.dataset.passed = String(counts.passed);
    box.dataset.total = String(counts.total);
    if (counts.passed >= counts.total && counts.total > 0) box.dataset.done = '';
    else delete box.dataset.done;
    box.querySelectorAll<HTMLElement>('[data-progress-text]').forEach((el) => {
      setText(el, el.dataset.progressText === 'long' ? summaryText(counts, box.dataset.graded !== undefined, s) : badgeText(counts));
    });
    if (box.hasAttribute('data-progress-label')) box.setAttribute('aria-label', s.exercise.toolbarLabel(counts.passed, counts.total));
    box.querySelectorAll<HTMLProgressElement>('progress').forEach((p) => {
      p.max = Math.max(1, counts.total);
      p.value = counts.passed;
    });
    if (!items) return;
    box.querySelectorAll<HTMLElement>('[data-exercise-item]').forEach((li) => {
      const item = items.find((i) => i.id === li.dataset.exerciseItem);
      const status = item?.status ?? 'pending';
      li.dataset.status = status;
      setText(li.querySelector<HTMLElement>('.item-icon'), STATUS_ICON[status]);
      setText(li.querySelector<HTMLElement>('.item-status'), s.exercise.status[status]);
    });
    box.querySelectorAll<HTMLElement>('[data-quiz-item]').forEach((li) => {
      const status = quizStatus(quizzes?.find((q) => q.id === li.dataset.quizItem));
      li.dataset.status = status;
      setText(li.querySelector<HTMLElement>('.item-icon'), QUIZ_ICON[status]);
      setText(li.querySelector<HTMLElement>('.item-status'), s.quiz.status[status]);
    });
  });
}

export function initExercises(): void {
  const lang = document.documentElement.lang;
  const s = t(isLang(lang) ? lang : 'ko');
  const cards = [...document.querySelectorAll<HTMLElement>('[data-exercise]')].map((el) => new ExerciseCard(el, s));
  const ids = cards.map((c) => c.id);
  const quizIds = [...document.querySelectorAll<HTMLElement>('[data-quiz]')].map((el) => el.dataset.quiz ?? '');
  const lesson = document.querySelector<HTMLElement>('[data-lesson]')?.dataset.lesson;
  let live = false;

  document.addEventListener(EXERCISES_EVENT, (ev) => {
    const msg = (ev as CustomEvent<ExercisesMessage>).detail;
    if (!msg || (lesson && msg.lesson !== lesson)) return;
    live = true;
    for (const card of cards) card.update(msg.items.find((i) => i.id === card.id), msg.checking);
    renderTally(document, tally(ids, msg.items, quizIds, msg.quizzes), msg.items, msg.quizzes, s);
  });

  const total = ids.length + quizIds.length;
  if (!lesson || total === 0) return;
  renderTally(document, tally(ids, [], quizIds, []), undefined, undefined, s);
  // Until the socket reports, show the recorded count for this lesson.
  void fetch(PROGRESS_URL, { credentials: 'same-origin', headers: { accept: 'application/json' }, cache: 'no-store' })
    .then((res) => (res.ok ? res.json() : null))
    .then((body) => {
      const p = parseProgress(body)?.[lesson];
      if (live || !p) return;
      renderTally(document, { passed: Math.min(p.passed, total), total }, undefined, undefined, s);
    })
    .catch(() => {});
}
