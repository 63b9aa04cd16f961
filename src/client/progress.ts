/**
 * Progress on the home page: a badge per lesson card (`[data-progress-for=<slug>]`),
 * the overall sentence, the export link, and the reset and forget-me buttons with their dialogs.
 * Text from the server is set with textContent only.
 */
import { FORGET_URL, PROGRESS_RESET_URL, PROGRESS_URL, lessonBadge, overallText, parseProgress, type Progress } from './progress-view.ts';
import { isLang, t, type Strings } from '../i18n/strings.ts';
import { renderContinue } from './continue.ts';

export async function fetchProgress(): Promise<Progress | null> {
  try {
    const res = await fetch(PROGRESS_URL, { credentials: 'same-origin', headers: { accept: 'application/json' }, cache: 'no-store' });
    // 401: this browser has no learner cookie yet, so nothing is recorded.
    if (res.status === 401) return {};
    if (!res.ok) return null;
    return parseProgress(await res.json());
  } catch {
    return null;
  }
}

/** Fill every `[data-progress-for]` badge under `root`. */
export function renderBadges(root: ParentNode, progress: Progress, s: Strings): void {
  root.querySelectorAll<HTMLElement>('[data-progress-for]').forEach((el) => {
    const slug = el.dataset.progressFor ?? '';
    const badge = lessonBadge(progress[slug], Number(el.dataset.total ?? 0) || 0, s);
    if (!badge) {
      el.hidden = true;
      return;
    }
    el.hidden = false;
    el.dataset.state = badge.state;
    const short = el.querySelector<HTMLElement>('.badge-short');
    const long = el.querySelector<HTMLElement>('.badge-long');
    if (short) short.textContent = badge.text;
    if (long) long.textContent = badge.label;
  });
}

export function initHomeProgress(): void {
  const lang = document.documentElement.lang;
  const s = t(isLang(lang) ? lang : 'ko');
  const section = document.querySelector<HTMLElement>('[data-progress-section]');
  const overall = section?.querySelector<HTMLElement>('[data-progress-overall]');
  const resetBtn = section?.querySelector<HTMLButtonElement>('[data-action="reset-progress"]');
  const dialog = section?.querySelector<HTMLDialogElement>('dialog[data-dialog="reset"]');
  const forgetBtn = section?.querySelector<HTMLButtonElement>('[data-action="forget-me"]');
  const forgetDialog = section?.querySelector<HTMLDialogElement>('dialog[data-dialog="forget"]');
  let totals: Record<string, number> = {};
  try {
    totals = JSON.parse(section?.dataset.totals ?? '{}') as Record<string, number>;
  } catch {
    /* no totals: the server's counts still show */
  }

  const say = (text: string) => {
    if (overall) overall.textContent = text;
  };

  const load = async (after?: string) => {
    const progress = await fetchProgress();
    if (!progress) {
      say(s.progress.loadFailed);
      return;
    }
    renderBadges(document, progress, s);
    renderContinue(document, progress, s);
    const sentence = overallText(progress, totals, s);
    say(after ? `${after} ${sentence}` : sentence);
  };

  resetBtn?.addEventListener('click', () => {
    if (!dialog) return;
    dialog.returnValue = '';
    dialog.showModal();
  });
  dialog?.addEventListener('close', async () => {
    if (dialog.returnValue !== 'reset') return;
    try {
      const res = await fetch(PROGRESS_RESET_URL, { method: 'POST', credentials: 'same-origin', cache: 'no-store' });
      if (!res.ok) {
        say(s.progress.resetFailed(res.status));
        return;
      }
    } catch {
      say(s.progress.resetOffline);
      return;
    }
    await load(s.progress.resetDone);
  });

  forgetBtn?.addEventListener('click', () => {
    if (!forgetDialog) return;
    forgetDialog.returnValue = '';
    forgetDialog.showModal();
  });
  forgetDialog?.addEventListener('close', async () => {
    if (forgetDialog.returnValue !== 'forget') return;
    try {
      // 401: this browser had no learner, so there was nothing to forget.
      const res = await fetch(FORGET_URL, { method: 'POST', credentials: 'same-origin', cache: 'no-store' });
      if (!res.ok && res.status !== 401) {
        say(s.progress.forgetFailed(res.status));
        return;
      }
    } catch {
      say(s.progress.forgetOffline);
      return;
    }
    await load(s.progress.forgetDone);
  });

  void load();
}
