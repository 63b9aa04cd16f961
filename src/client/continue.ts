/**
 * "Continue where you left off": lesson pages remember the last lesson opened in
 * this browser (localStorage; nothing leaves the browser), and the home page
 * links to it, or to the first unfinished lesson (progress-view.ts continueTarget).
 */
import { continueTarget, type Progress } from './progress-view.ts';
import type { Strings } from '../i18n/strings.ts';

const LAST_LESSON_KEY = 'berth:last-lesson';

export function rememberLesson(slug: string): void {
  try {
    localStorage.setItem(LAST_LESSON_KEY, slug);
  } catch {
    /* storage off (private mode, policy): the home page falls back to progress */
  }
}

function lastLesson(): string | undefined {
  try {
    return localStorage.getItem(LAST_LESSON_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * Fills the home page's `[data-continue]` box from the lesson cards
 * (`li.lesson-card[data-lesson]`, in course order, with their link and count).
 */
export function renderContinue(root: Document, progress: Progress, s: Strings): void {
  const box = root.querySelector<HTMLElement>('[data-continue]');
  const link = box?.querySelector<HTMLAnchorElement>('a');
  if (!box || !link) return;
  const cards = [...root.querySelectorAll<HTMLElement>('li.lesson-card[data-lesson]')].map((card) => ({
    slug: card.dataset.lesson ?? '',
    total: Number(card.querySelector<HTMLElement>('[data-progress-for]')?.dataset.total ?? 0) || 0,
    link: card.querySelector<HTMLAnchorElement>('h3 a'),
  }));
  const target = continueTarget(cards, progress, lastLesson());
  const card = cards.find((c) => c.slug === target?.slug);
  if (!target || !card?.link) {
    box.hidden = true;
    return;
  }
  const title = card.link.textContent?.trim() ?? target.slug;
  link.setAttribute('href', card.link.getAttribute('href') ?? card.link.href);
  link.textContent = target.kind === 'continue' ? s.continueLesson(title) : s.startLesson(title);
  box.hidden = false;
}
