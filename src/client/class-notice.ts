/**
 * A learner's page in a class hears its instructor's messages (and that the class
 * ended) and shows them in a banner. Pages of learners in no class ask once and
 * open nothing.
 */
import { CLASS_EVENTS_PATH, CLASS_PATH, type ClassNotice } from '../../sandbox-server/src/protocol.ts';
import { isLang, t } from '../i18n/strings.ts';
import '../styles/class-notice.css';

export async function listenToClass(): Promise<void> {
  if (typeof EventSource === 'undefined') return;
  try {
    const res = await fetch(CLASS_PATH, { credentials: 'same-origin' });
    if (!res.ok || ((await res.json()) as { classes: number }).classes === 0) return;
  } catch {
    return; // offline: the page has nothing to hear
  }
  const lang = isLang(document.documentElement.lang) ? document.documentElement.lang : 'ko';
  const s = t(lang).join;
  const events = new EventSource(CLASS_EVENTS_PATH);
  events.onmessage = (event) => {
    let notice: ClassNotice;
    try {
      notice = JSON.parse(event.data as string) as ClassNotice;
    } catch {
      return;
    }
    show(notice.t === 'message' ? notice.text : s.classEnded, s.noticeFrom, s.dismiss);
    if (notice.t === 'ended') events.close();
  };
}

function show(text: string, label: string, dismiss: string): void {
  let box = document.querySelector<HTMLElement>('[data-class-notice]');
  if (!box) {
    box = document.createElement('div');
    box.className = 'class-notice';
    box.dataset.classNotice = '';
    box.setAttribute('role', 'status');
    const heading = document.createElement('strong');
    heading.textContent = label;
    const body = document.createElement('p');
    body.dataset.classNoticeText = '';
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'btn';
    close.textContent = dismiss;
    close.addEventListener('click', () => (box!.hidden = true));
    box.append(heading, body, close);
    document.body.append(box);
  }
  // The instructor's words, as text.
  box.querySelector<HTMLElement>('[data-class-notice-text]')!.textContent = text;
  box.hidden = false;
}
