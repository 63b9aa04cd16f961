/**
 * The "lesson complete" moment: once every exercise and quiz of the lesson has
 * passed, a banner in the lesson text says so and links the next lesson. It
 * follows the exercise states the sandbox panel re-dispatches (EXERCISES_EVENT)
 * and sits after the task that completed the set, where the learner is reading.
 */
import { EXERCISES_EVENT } from './events.ts';
import { tally } from './exercise-view.ts';
import type { ExercisesMessage } from './terminal-session.ts';

export function initLessonComplete(): void {
  const banner = document.querySelector<HTMLElement>('[data-lesson-complete]');
  const lesson = document.querySelector<HTMLElement>('[data-lesson]')?.dataset.lesson;
  if (!banner || !lesson) return;
  const tasks = [...document.querySelectorAll<HTMLElement>('[data-exercise], [data-quiz]')];
  const ids = tasks.flatMap((el) => (el.dataset.exercise ? [el.dataset.exercise] : []));
  const quizIds = tasks.flatMap((el) => (el.dataset.quiz ? [el.dataset.quiz] : []));
  if (ids.length + quizIds.length === 0) return;
  /** What had passed at the previous message; undefined before the first. */
  let passedBefore: Set<string> | undefined;
  const key = (el: HTMLElement) => (el.dataset.quiz ? `quiz:${el.dataset.quiz}` : `exercise:${el.dataset.exercise}`);

  document.addEventListener(EXERCISES_EVENT, (ev) => {
    const msg = (ev as CustomEvent<ExercisesMessage>).detail;
    if (!msg || msg.lesson !== lesson) return;
    const passedNow = new Set([
      ...msg.items.filter((i) => i.status === 'passed').map((i) => `exercise:${i.id}`),
      ...(msg.quizzes ?? []).filter((q) => q.passed).map((q) => `quiz:${q.id}`),
    ]);
    const { passed, total } = tally(ids, msg.items, quizIds, msg.quizzes);
    const complete = total > 0 && passed >= total;
    if (complete && banner.hidden) {
      // After the task that just passed (the last in page order if several did); on a
      // page opened with all done already, after the last task.
      const before = passedBefore;
      const anchor = (before && tasks.findLast((el) => !before.has(key(el)))) || tasks.at(-1);
      anchor?.after(banner);
      banner.hidden = false;
    } else if (!complete) {
      banner.hidden = true;
    }
    passedBefore = passedNow;
  });
}
