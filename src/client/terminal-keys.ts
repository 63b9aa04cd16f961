/**
 * Keys the terminal needs beyond what xterm does by itself:
 *
 *  - A way out (WCAG 2.1.2, no keyboard trap): the shell needs Tab and Esc, so
 *    inside the terminal they go to the shell; Esc pressed twice quickly leaves
 *    the terminal instead. A single Esc is held back that long and then sent
 *    (vim still gets it; Esc followed by another key still reaches readline as
 *    Meta+key), so leaving sends nothing to the shell.
 *  - The on-screen key bar for touch devices, which have no Ctrl, Esc, Tab or
 *    arrows: the bytes each button sends, and the sticky Ctrl applied to the
 *    next typed character.
 */
import type { IDisposable } from '@xterm/xterm';

/** A second Esc within this long leaves the terminal. */
export const ESC_LEAVE_MS = 450;

/**
 * Watch keydowns inside `host` (capture phase, before xterm sees them).
 * `send` types bytes into the terminal; `leave` moves focus out.
 */
export function installEscapeHatch(host: HTMLElement, send: (data: string) => void, leave: () => void): IDisposable {
  let held: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (held === undefined) return;
    clearTimeout(held);
    held = undefined;
    send('\x1b');
  };
  const onKey = (ev: KeyboardEvent) => {
    const plainEsc = ev.key === 'Escape' && !ev.ctrlKey && !ev.altKey && !ev.metaKey && !ev.shiftKey && !ev.isComposing;
    if (!plainEsc) {
      flush(); // the held Esc goes first, then this key (Esc then d is Meta+d in bash)
      return;
    }
    ev.preventDefault();
    ev.stopPropagation();
    if (ev.repeat) return;
    if (held !== undefined) {
      clearTimeout(held);
      held = undefined;
      leave();
      return;
    }
    held = setTimeout(flush, ESC_LEAVE_MS);
  };
  host.addEventListener('keydown', onKey, true);
  host.addEventListener('focusout', flush);
  return {
    dispose() {
      clearTimeout(held);
      host.removeEventListener('keydown', onKey, true);
      host.removeEventListener('focusout', flush);
    },
  };
}

export type BarKey = 'esc' | 'tab' | 'up' | 'down' | 'left' | 'right' | 'ctrl-c' | 'ctrl-d';

const ARROWS: Partial<Record<BarKey, string>> = { up: 'A', down: 'B', right: 'C', left: 'D' };

/**
 * The bytes a key-bar button sends. `appCursor`: the program asked for
 * application cursor keys (DECCKM; vim, less), which changes the arrows.
 */
export function barKeyBytes(key: BarKey, ctrl: boolean, appCursor: boolean): string {
  const arrow = ARROWS[key];
  if (arrow) return ctrl ? `\x1b[1;5${arrow}` : `${appCursor ? '\x1bO' : '\x1b['}${arrow}`;
  switch (key) {
    case 'esc':
      return '\x1b';
    case 'tab':
      return '\t';
    case 'ctrl-c':
      return '\x03';
    case 'ctrl-d':
      return '\x04';
  }
  return '';
}

/** Ctrl applied to one typed character, as a terminal sends it; undefined when Ctrl means nothing for it. */
export function ctrlChar(ch: string): string | undefined {
  if (ch.length !== 1) return undefined;
  const c = ch.toLowerCase();
  if (c >= 'a' && c <= 'z') return String.fromCharCode(c.charCodeAt(0) - 96);
  const map: Record<string, string> = { ' ': '\x00', '@': '\x00', '2': '\x00', '[': '\x1b', '\\': '\x1c', ']': '\x1d', '^': '\x1e', '_': '\x1f', '-': '\x1f', '?': '\x7f' };
  return map[c];
}
