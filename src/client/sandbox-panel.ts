/**
 * Wires one sandbox panel: a TerminalSession on the panel's <berth-terminal>,
 * the toolbar (status, idle countdown, reset dialog), the overlay, and Run
 * buttons anywhere on the page (the `berth:run` event).
 */
import type { Terminal } from '@xterm/xterm';
import { TerminalSession, type PanelState, type SessionSnapshot } from './terminal-session.ts';
import { isMacPlatform } from './clipboard.ts';
import { barKeyBytes, ctrlChar, type BarKey } from './terminal-keys.ts';
import { isLang, t, type Strings } from '../i18n/strings.ts';
import {
  EXERCISES_EVENT,
  EXERCISE_ACTION_EVENT,
  RUN_EVENT,
  STATE_EVENT,
  type ExerciseActionDetail,
  type RunEventDetail,
  type StateEventDetail,
} from './events.ts';


type TerminalElement = HTMLElement & { terminal?: Terminal; fit(): void; fontSize: number; setFontSize(px: number): number };

const PROGRESS_STEPS = ['creating', 'starting', 'ready'] as const;
/** The panel warns this long before the sandbox stops (idle or maximum age). */
export const STOP_WARNING_MS = 2 * 60_000;

/** Which stop to warn about now, if any: the nearer of idle and maximum age within the warning window. */
export function stopWarning(snap: Pick<SessionSnapshot, 'state' | 'idleStopAt' | 'maxAgeStopAt'>, now: number): { kind: 'idle' | 'max-age'; at: number } | undefined {
  if (snap.state !== 'ready') return undefined;
  const candidates: { kind: 'idle' | 'max-age'; at: number }[] = [];
  if (snap.idleStopAt !== undefined) candidates.push({ kind: 'idle', at: snap.idleStopAt });
  if (snap.maxAgeStopAt !== undefined) candidates.push({ kind: 'max-age', at: snap.maxAgeStopAt });
  const first = candidates.sort((a, b) => a.at - b.at)[0];
  return first && first.at - now <= STOP_WARNING_MS ? first : undefined;
}

/**
 * Time left before a stop, as both the toolbar and the warning bar say it: whole
 * minutes, and within the warning window seconds in steps of 10 (rounded up), so
 * the two never disagree ("1 min left" beside "stops in 90 s").
 */
export function timeLeft(at: number, now: number): { minutes: number } | { seconds: number } {
  const ms = Math.max(0, at - now);
  if (ms <= STOP_WARNING_MS) return { seconds: Math.ceil(ms / 10_000) * 10 };
  return { minutes: Math.floor(ms / 60_000) };
}

/** Reading the lesson (scrolling, pointer, keys, focus) counts as activity at most this often. */
export const READING_ACTIVITY_MS = 60_000;

export async function initSandboxPanel(panel: HTMLElement): Promise<void> {
  if (panel.dataset.initialized) return;
  panel.dataset.initialized = '';
  const s: Strings = t(isLang(panel.dataset.lang) ? panel.dataset.lang : 'ko');

  await customElements.whenDefined('berth-terminal');
  const termEl = panel.querySelector<TerminalElement>('berth-terminal');
  const term = termEl?.terminal;
  if (!termEl || !term) return;

  const $ = <T extends Element>(sel: string) => panel.querySelector<T>(sel);
  const statusText = $<HTMLElement>('.sandbox-status-text');
  const idle = $<HTMLElement>('.sandbox-idle');
  const overlay = $<HTMLElement>('.sandbox-overlay');
  const title = $<HTMLElement>('.overlay-title');
  const detail = $<HTMLElement>('.overlay-detail');
  const retryBtn = $<HTMLButtonElement>('.overlay-retry');
  const alertBox = $<HTMLElement>('.sandbox-alert');
  const dialog = $<HTMLDialogElement>('.sandbox-dialog');
  const resetBtn = $<HTMLButtonElement>('.sandbox-reset-btn');
  const collapseBtn = $<HTMLButtonElement>('.sandbox-collapse-btn');
  const keys = $<HTMLElement>('.sandbox-keys');
  const warning = $<HTMLElement>('.sandbox-stop-warning');
  const warningText = $<HTMLElement>('.stop-warning-text');
  const keepBtn = $<HTMLButtonElement>('.stop-warning-keep');

  if (keys) keys.textContent = (isMacPlatform() ? keys.dataset.mac : keys.dataset.other) ?? keys.textContent;

  // On a lesson page the server checks that lesson's exercises live.
  const lesson = panel.dataset.lesson || undefined;
  const lang = isLang(panel.dataset.lang) ? panel.dataset.lang : undefined;
  const session = new TerminalSession(term, { ...(lesson ? { lesson } : {}), ...(lang ? { lang } : {}) });
  let snapshot: SessionSnapshot = session.snapshot;

  const setState = (state: PanelState) => {
    panel.dataset.state = state;
    termEl.dataset.state = state;
  };

  const problemText = (snap: SessionSnapshot): { title: string; detail?: string } => {
    switch (snap.reason) {
      case 'no-server':
        return { title: s.overlay.disconnected, detail: s.overlay.noServer };
      case 'session-http':
        return { title: s.overlay.disconnected, detail: s.overlay.sessionHttp(snap.httpStatus ?? 0) };
      case 'socket':
        return { title: s.overlay.disconnected, detail: snap.message ?? s.overlay.socketFailed };
      case 'rate-limited':
        return { title: s.state.disconnected, detail: s.overlay.rateLimited };
      case 'shutdown':
        return { title: s.state.disconnected, detail: s.overlay.serverShutdown };
      case 'bad-message':
        return { title: s.state.disconnected, detail: snap.message ?? s.overlay.badMessage };
      case 'sandbox-failed':
        return { title: s.overlay.failed, detail: snap.message };
      default:
        return { title: s.overlay.disconnected, detail: snap.message };
    }
  };

  /** The page's own words for a status code; a failed start adds the server log's reference, if it sent one. */
  const statusDetail = (snap: SessionSnapshot): string | undefined => {
    if (!snap.code) return snap.message;
    if (snap.code !== 'start-failed') return s.statusCode[snap.code];
    const ref = startFailureReference(snap.message);
    return ref ? `${s.statusCode['start-failed']} ${s.overlay.reference(ref)}` : s.statusCode['start-failed'];
  };

  const renderOverlay = (snap: SessionSnapshot) => {
    if (!overlay || !title || !detail || !retryBtn) return;
    const state = snap.state;
    let kind: 'progress' | 'error' | 'stopped' = 'progress';
    let heading = '';
    let more: string | undefined;
    let retry: string | undefined;
    if (state === 'failed' || state === 'disconnected') {
      kind = 'error';
      const p = problemText(snap);
      heading = p.title;
      more = p.detail;
      if (state === 'failed' && snap.message && snap.reason !== 'sandbox-failed') more = snap.message;
      if (state === 'failed' && snap.reason === 'sandbox-failed') more = statusDetail(snap);
      if (snap.reconnectAt !== undefined && snap.reconnectAttempt !== undefined) {
        const secs = Math.max(1, Math.round((snap.reconnectAt - Date.now()) / 1000));
        more = [more, s.overlay.reconnecting(snap.reconnectAttempt, secs)].filter(Boolean).join('\n');
      }
      retry = s.retry;
    } else if (state === 'stopped') {
      kind = 'stopped';
      heading = snap.code === 'stopped' || snap.code === 'max-age-stopped' ? s.statusCode[snap.code] : s.overlay.stopped;
      more = snap.code === 'stopped' || snap.code === 'idle-stopped' || snap.code === 'max-age-stopped' ? undefined : statusDetail(snap);
      retry = s.startAgain;
    } else {
      heading =
        state === 'connecting'
          ? s.overlay.connecting
          : state === 'creating'
            ? s.overlay.creating
            : state === 'starting'
              ? s.overlay.starting
              : state === 'stopping'
                ? s.overlay.stopping
                : '';
      more = statusDetail(snap);
      if (snap.code === 'queued' && snap.position !== undefined) {
        heading = s.queue.position(snap.position);
        more = [s.statusCode.queued, snap.waitMs !== undefined ? s.queue.wait(Math.round(snap.waitMs / 60_000)) : s.queue.estimating].join('\n');
      }
      overlay.dataset.position = snap.code === 'queued' && snap.position !== undefined ? String(snap.position) : '';
      const current = PROGRESS_STEPS.indexOf(state as (typeof PROGRESS_STEPS)[number]);
      overlay.querySelectorAll<HTMLElement>('[data-step]').forEach((li, i) => {
        li.dataset.status = current < 0 ? 'pending' : i < current ? 'done' : i === current ? 'active' : 'pending';
      });
    }
    overlay.dataset.kind = kind;
    overlay.hidden = state === 'ready';
    title.textContent = heading;
    detail.textContent = more ?? '';
    detail.hidden = !more;
    retryBtn.hidden = !retry;
    if (retry) retryBtn.textContent = retry;
  };

  const renderIdle = () => {
    if (!idle) return;
    const stops = [snapshot.idleStopAt, snapshot.maxAgeStopAt].filter((t) => t !== undefined);
    const at = stops.length ? Math.min(...stops) : undefined;
    if (snapshot.state !== 'ready' || at === undefined) {
      idle.hidden = true;
      return;
    }
    const left = timeLeft(at, Date.now());
    idle.hidden = false;
    idle.textContent = 'seconds' in left ? s.secondsLeft(left.seconds) : s.minutesLeft(left.minutes);
    idle.dataset.idleStopAt = String(at);
    if ('seconds' in left) idle.dataset.warn = '';
    else delete idle.dataset.warn;
  };

  const renderStopWarning = () => {
    if (!warning || !warningText) return;
    const soon = stopWarning(snapshot, Date.now());
    warning.hidden = !soon;
    if (!soon) return;
    // Counted down in steps of 10 s, so a screen reader is not told every second.
    const left = timeLeft(soon.at, Date.now());
    const secs = 'seconds' in left ? left.seconds : Math.ceil(STOP_WARNING_MS / 1000);
    warning.dataset.kind = soon.kind;
    warningText.textContent = soon.kind === 'idle' ? s.stopWarning.idle(secs) : s.stopWarning.maxAge(secs);
    if (keepBtn) keepBtn.hidden = soon.kind !== 'idle'; // only the idle timer can be pushed back
  };

  let lastAlert: string | undefined;
  const render = (snap: SessionSnapshot) => {
    const wasReady = snapshot.state === 'ready';
    const changed = snapshot.state !== snap.state;
    snapshot = snap;
    setState(snap.state);
    if (changed) {
      const detail: StateEventDetail = { state: snap.state };
      document.dispatchEvent(new CustomEvent(STATE_EVENT, { detail }));
    }
    if (statusText) statusText.textContent = s.state[snap.state];
    renderOverlay(snap);
    renderIdle();
    renderStopWarning();
    if (alertBox && snap.error !== lastAlert) {
      lastAlert = snap.error;
      alertBox.textContent = snap.error ?? '';
      alertBox.hidden = !snap.error;
    }
    if (snap.state === 'ready' && !wasReady) termEl.fit();
  };
  session.subscribe(render);

  // Countdowns (idle stop, reconnect) tick once a second; cheap and simple.
  const ticker = setInterval(() => {
    renderIdle();
    renderStopWarning();
    if (snapshot.reconnectAt !== undefined) renderOverlay(snapshot);
  }, 1000);

  keepBtn?.addEventListener('click', () => {
    session.keepAlive();
    termEl.focus();
  });

  // The warning lives above the whole page, not only under the terminal: a learner
  // reading the lesson (or with the terminal folded away on a phone) sees it too.
  if (warning) document.body.append(warning);

  // Reading is working: scrolling, pointing, keys or focus anywhere on a visible page
  // count as activity for the idle timer (as an empty frame, at most once a minute;
  // the server counts no more often than that either).
  let lastReading = 0;
  const reading = () => {
    if (document.visibilityState !== 'visible' || snapshot.state !== 'ready') return;
    const now = Date.now();
    if (now - lastReading < READING_ACTIVITY_MS) return;
    if (session.keepAlive()) lastReading = now;
  };
  for (const type of ['scroll', 'wheel', 'pointerdown', 'pointermove', 'keydown', 'touchstart', 'focusin']) {
    document.addEventListener(type, reading, { capture: true, passive: true });
  }
  document.addEventListener('visibilitychange', reading);

  retryBtn?.addEventListener('click', () => {
    session.retry();
    termEl.focus();
  });

  resetBtn?.addEventListener('click', () => {
    if (!dialog) return;
    dialog.returnValue = '';
    dialog.showModal();
  });
  dialog?.addEventListener('close', () => {
    if (dialog.returnValue === 'reset') {
      session.reset();
      termEl.focus();
    } else {
      resetBtn?.focus();
    }
  });

  collapseBtn?.addEventListener('click', () => {
    const open = collapseBtn.getAttribute('aria-expanded') !== 'false';
    collapseBtn.setAttribute('aria-expanded', String(!open));
    if (open) panel.dataset.collapsed = '';
    else {
      delete panel.dataset.collapsed;
      requestAnimationFrame(() => termEl.fit());
    }
  });

  const onRun = (ev: Event) => {
    const detail = (ev as CustomEvent<RunEventDetail>).detail;
    if (!detail || typeof detail.command !== 'string') return;
    detail.result = session.run(detail.command);
    if (panel.dataset.collapsed !== undefined) collapseBtn?.click();
  };
  document.addEventListener(RUN_EVENT, onRun);

  // Exercise cards and quizzes: their buttons ask, the server's `exercises` messages answer.
  const onExerciseAction = (ev: Event) => {
    const detail = (ev as CustomEvent<ExerciseActionDetail>).detail;
    if (!detail) return;
    let sent = false;
    if (detail.action === 'check') sent = session.check();
    else if (detail.exercise && detail.action === 'hint') sent = session.hint(detail.exercise);
    else if (detail.exercise && detail.action === 'solution') sent = session.solution(detail.exercise);
    else if (detail.exercise && detail.action === 'quiz' && detail.answers) sent = session.quiz(detail.exercise, detail.answers);
    detail.result = sent ? 'sent' : 'offline';
  };
  document.addEventListener(EXERCISE_ACTION_EVENT, onExerciseAction);
  session.onExercises((msg) => document.dispatchEvent(new CustomEvent(EXERCISES_EVENT, { detail: msg })));

  // Classroom: the learner always sees who watches their terminal, and who types in it.
  const watchBar = $<HTMLElement>('.sandbox-watchers');
  const watchText = $<HTMLElement>('.sandbox-watchers-text');
  const helpStop = $<HTMLButtonElement>('.sandbox-watchers-stop');
  session.onWatchers(({ watchers }) => {
    if (!watchBar || !watchText || !helpStop) return;
    watchBar.hidden = watchers.length === 0;
    const helper = watchers.find((w) => w.helping);
    watchBar.dataset.helping = helper ? 'true' : 'false';
    // Names are the instructor's own text: set as text, never as markup.
    watchText.textContent = helper ? s.watchers.helping(helper.name) : s.watchers.watching([...new Set(watchers.map((w) => w.name))].join(', '));
    helpStop.hidden = !helper;
  });
  helpStop?.addEventListener('click', () => session.endHelp());

  const announcer = $<HTMLElement>('.sandbox-announce');
  const announce = (text: string) => {
    if (announcer) announcer.textContent = text;
  };

  termEl.addEventListener('berth-terminal-notice', (ev) => {
    const { text, kind } = (ev as CustomEvent<{ text: string; kind?: 'info' | 'error' }>).detail ?? {};
    if (!text) return;
    if (kind === 'info') announce(text);
    else if (alertBox) {
      alertBox.textContent = text;
      alertBox.hidden = false;
    }
  });

  initTerminalControls(panel, termEl, term, session, announce, s);

  window.addEventListener('pagehide', (ev) => {
    if ((ev as PageTransitionEvent).persisted) return;
    clearInterval(ticker);
    document.removeEventListener(RUN_EVENT, onRun);
    document.removeEventListener(EXERCISE_ACTION_EVENT, onExerciseAction);
    session.dispose();
  });

  session.start();
}

/** The reference a failed start's message carries ("... (reference 1a2b3c4d)"): the reason is in the server's log under it. */
export function startFailureReference(message: string | undefined): string | undefined {
  return /\(reference ([0-9a-f]{8})\)/.exec(message ?? '')?.[1];
}

/**
 * The terminal's own controls: the way out (Esc twice) announced to screen
 * readers, the skip link, maximise, font size and the touch key bar.
 */
function initTerminalControls(
  panel: HTMLElement,
  termEl: TerminalElement,
  term: Terminal,
  session: TerminalSession,
  announce: (text: string) => void,
  s: Strings,
): void {
  const host = termEl.querySelector<HTMLElement>('.terminal-host') ?? termEl;
  // Screen readers hear how to leave when they enter the terminal.
  const help = panel.querySelector<HTMLElement>('[id$="-terminal-help"]');
  if (help) term.textarea?.setAttribute('aria-describedby', help.id);

  // Which element has the terminal's focus decides whether the key bar shows.
  host.addEventListener('focusin', () => (panel.dataset.terminalFocus = ''));
  host.addEventListener('focusout', () => delete panel.dataset.terminalFocus);

  // Maximise (desktop): the same button, or Esc outside the terminal, restores.
  const maxBtn = panel.querySelector<HTMLButtonElement>('.sandbox-max-btn');
  const setMaximized = (on: boolean) => {
    if (on) panel.dataset.maximized = '';
    else delete panel.dataset.maximized;
    maxBtn?.setAttribute('aria-pressed', String(on));
    requestAnimationFrame(() => termEl.fit());
  };
  maxBtn?.addEventListener('click', () => setMaximized(panel.dataset.maximized === undefined));
  panel.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape' || ev.defaultPrevented || panel.dataset.maximized === undefined) return;
    if (panel.querySelector('dialog[open]')) return;
    setMaximized(false);
  });
  termEl.addEventListener('berth-terminal-leave', () => {
    if (panel.dataset.maximized !== undefined) setMaximized(false);
    announce(s.leftTerminal);
  });

  // Skip link (BaseLayout's skip slot, filled by LessonPage): straight into the terminal.
  for (const link of document.querySelectorAll<HTMLAnchorElement>(`a[data-skip-terminal][href="#${panel.id}"]`)) {
    link.addEventListener('click', (ev) => {
      ev.preventDefault();
      if (panel.dataset.collapsed !== undefined) panel.querySelector<HTMLButtonElement>('.sandbox-collapse-btn')?.click();
      // Lesson pages fit the window on a desktop: scrolling there would shift the whole layout.
      if (window.matchMedia('(max-width: 899.98px)').matches) termEl.scrollIntoView({ block: 'nearest' });
      termEl.focus();
    });
  }

  // Font size, kept by the terminal element in localStorage.
  for (const btn of panel.querySelectorAll<HTMLButtonElement>('[data-font-step]')) {
    btn.addEventListener('click', () => {
      const size = termEl.setFontSize(termEl.fontSize + Number(btn.dataset.fontStep));
      announce(s.fontSizeNow(size));
    });
  }

  // Key bar (touch devices): the buttons never take focus, so the soft keyboard stays up.
  const bar = panel.querySelector<HTMLElement>('.sandbox-keybar');
  const ctrlBtn = bar?.querySelector<HTMLButtonElement>('[data-key="ctrl"]');
  let ctrl = false;
  const setCtrl = (on: boolean) => {
    ctrl = on;
    ctrlBtn?.setAttribute('aria-pressed', String(on));
  };
  // Sticky Ctrl: the next typed character becomes its control character.
  session.inputFilter = (data) => {
    if (!ctrl) return data;
    setCtrl(false);
    return ctrlChar(data) ?? data;
  };
  bar?.addEventListener('pointerdown', (ev) => ev.preventDefault());
  bar?.addEventListener('mousedown', (ev) => ev.preventDefault());
  bar?.addEventListener('click', (ev) => {
    const btn = ev.target instanceof Element ? ev.target.closest<HTMLButtonElement>('button[data-key]') : null;
    if (!btn) return;
    const key = btn.dataset.key as BarKey | 'ctrl';
    if (key === 'ctrl') setCtrl(!ctrl);
    else {
      const bytes = barKeyBytes(key, ctrl, term.modes.applicationCursorKeysMode);
      setCtrl(false);
      term.input(bytes, true);
    }
    if (document.activeElement !== term.textarea) term.focus();
  });
}
