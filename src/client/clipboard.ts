/**
 * Copy and paste for the terminal, as people expect from a desktop terminal.
 *
 *  - Linux/Windows: Ctrl+V and Ctrl+Shift+V paste; Ctrl+Shift+C copies the
 *    selection; Ctrl+C copies when text is selected (and clears the selection,
 *    as Windows Terminal does) and otherwise sends SIGINT (0x03) as always.
 *  - macOS: Cmd+C copies, Cmd+V pastes; Ctrl+C is SIGINT.
 *  - Right-click copies the selection, or pastes when nothing is selected
 *    (Shift+right-click opens the browser's own menu).
 *
 * Reading the clipboard asks for permission and needs a secure context
 * (https, or http on localhost): when refused, `notify` says why.
 *
 * Pasted text never carries bracketed-paste markers: a clipboard holding
 * "\x1b[201~rm -rf ~\r" must not end the paste early and run a command.
 * OSC 52 (programs writing the clipboard) is deliberately not enabled.
 */
import type { IDisposable, Terminal } from '@xterm/xterm';

const PASTE_MARKERS = /\x1b\[20[01]~/g;

/** Remove bracketed-paste start/end markers, however often they appear. */
export function sanitizePaste(text: string): string {
  let out = text;
  // Repeat: removing one marker can join two halves of another.
  for (let prev = ''; prev !== out; ) {
    prev = out;
    out = out.replace(PASTE_MARKERS, '');
  }
  return out;
}

export function isMacPlatform(nav: Pick<Navigator, 'platform' | 'userAgent'> = navigator): boolean {
  return /Mac|iPhone|iPad|iPod/.test(nav.platform || nav.userAgent);
}

export type ClipboardAction = 'copy' | 'paste' | null;

/** Which clipboard action a keydown asks for, if any (`selected`: the terminal has a selection). */
export function clipboardActionFor(
  ev: Pick<KeyboardEvent, 'type' | 'code' | 'key' | 'ctrlKey' | 'shiftKey' | 'altKey' | 'metaKey'>,
  mac: boolean,
  selected = false,
): ClipboardAction {
  if (ev.type !== 'keydown' || ev.altKey) return null;
  const key = ev.code === 'KeyC' || ev.key.toLowerCase() === 'c' ? 'c' : ev.code === 'KeyV' || ev.key.toLowerCase() === 'v' ? 'v' : '';
  if (!key) return null;
  if (mac) return ev.metaKey && !ev.ctrlKey ? (key === 'c' ? 'copy' : 'paste') : null;
  if (!ev.ctrlKey || ev.metaKey) return null;
  if (key === 'v') return 'paste';
  // Ctrl+C without a selection stays the interrupt.
  return ev.shiftKey || selected ? 'copy' : null;
}

/** What the clipboard code tells the learner. */
export type ClipboardNotice = 'copied' | 'copy-failed' | 'paste-denied' | 'paste-insecure';

async function writeClipboard(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Not a secure context, or no permission: the old way.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.append(area);
    area.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    area.remove();
    return ok;
  }
}

export { writeClipboard };

/**
 * Install the copy/paste keys and the right-click on `term`, whose DOM lives in `host`.
 * `notify` is told about copies and about a clipboard that cannot be read.
 */
export function installClipboard(
  term: Terminal,
  host: HTMLElement,
  notify: (notice: ClipboardNotice) => void = () => {},
): IDisposable {
  const mac = isMacPlatform();
  let pasteFallback: ReturnType<typeof setTimeout> | undefined;

  const copySelection = () => {
    const text = term.getSelection();
    term.clearSelection();
    void writeClipboard(text).then((ok) => notify(ok ? 'copied' : 'copy-failed'));
  };
  /** Paste through the async Clipboard API (asks for permission the first time). */
  const readAndPaste = () => {
    if (!window.isSecureContext || !navigator.clipboard?.readText) {
      notify('paste-insecure');
      return;
    }
    navigator.clipboard.readText().then(
      (text) => {
        if (text) term.paste(sanitizePaste(text));
      },
      () => notify('paste-denied'),
    );
  };

  // Every paste into the terminal goes through here: keyboard, context menu,
  // middle click. Capture phase, so xterm's own (unsanitized) handler never runs.
  const onPaste = (ev: ClipboardEvent) => {
    clearTimeout(pasteFallback);
    ev.preventDefault();
    ev.stopImmediatePropagation();
    const text = ev.clipboardData?.getData('text/plain') ?? '';
    if (text) term.paste(sanitizePaste(text));
  };
  host.addEventListener('paste', onPaste, true);

  // Right-click: copy the selection, or paste (Shift+right-click: the browser's menu).
  const onContextMenu = (ev: MouseEvent) => {
    if (ev.shiftKey) return;
    ev.preventDefault();
    if (term.hasSelection()) copySelection();
    else readAndPaste();
    term.focus();
  };
  host.addEventListener('contextmenu', onContextMenu);

  term.attachCustomKeyEventHandler((ev) => {
    const action = clipboardActionFor(ev, mac, term.hasSelection());
    if (!action) return true;
    if (action === 'copy') {
      // Without a selection Cmd+C does nothing; Ctrl+Shift+C must not open devtools either.
      ev.preventDefault();
      if (term.hasSelection()) copySelection();
      return false;
    }
    // Paste: let the browser fire its paste event (handled above, no permission
    // prompt). If none arrives (some browsers do not paste on Ctrl+Shift+V),
    // read the clipboard through the async API instead.
    clearTimeout(pasteFallback);
    pasteFallback = setTimeout(readAndPaste, 80);
    return false;
  });

  return {
    dispose() {
      clearTimeout(pasteFallback);
      host.removeEventListener('paste', onPaste, true);
      host.removeEventListener('contextmenu', onContextMenu);
      term.attachCustomKeyEventHandler(() => true);
    },
  };
}
