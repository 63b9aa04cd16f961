/**
 * Copy and paste for the terminal.
 *
 *  - Linux/Windows: Ctrl+Shift+C copies the selection, Ctrl+Shift+V pastes.
 *  - macOS: Cmd+C copies, Cmd+V pastes.
 *  - Plain Ctrl+C is left alone, so it still sends SIGINT (0x03).
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

/** Which clipboard action a keydown asks for, if any. */
export function clipboardActionFor(
  ev: Pick<KeyboardEvent, 'type' | 'code' | 'key' | 'ctrlKey' | 'shiftKey' | 'altKey' | 'metaKey'>,
  mac: boolean,
): ClipboardAction {
  if (ev.type !== 'keydown' || ev.altKey) return null;
  const key = ev.code === 'KeyC' || ev.key.toLowerCase() === 'c' ? 'c' : ev.code === 'KeyV' || ev.key.toLowerCase() === 'v' ? 'v' : '';
  if (!key) return null;
  const combo = mac ? ev.metaKey && !ev.ctrlKey : ev.ctrlKey && ev.shiftKey && !ev.metaKey;
  if (!combo) return null;
  return key === 'c' ? 'copy' : 'paste';
}

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
 * Install the copy/paste keys on `term`, whose DOM lives in `host`.
 * `onPasteDenied` is called when the clipboard cannot be read.
 */
export function installClipboard(
  term: Terminal,
  host: HTMLElement,
  onPasteDenied: () => void = () => {},
): IDisposable {
  const mac = isMacPlatform();
  let pasteFallback: ReturnType<typeof setTimeout> | undefined;

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

  term.attachCustomKeyEventHandler((ev) => {
    const action = clipboardActionFor(ev, mac);
    if (!action) return true;
    if (action === 'copy') {
      // Without a selection Cmd+C does nothing; Ctrl+Shift+C must not open devtools either.
      ev.preventDefault();
      if (term.hasSelection()) void writeClipboard(term.getSelection());
      return false;
    }
    // Paste: let the browser fire its paste event (handled above, no permission
    // prompt). If none arrives (some browsers do not paste on Ctrl+Shift+V),
    // read the clipboard through the async API instead.
    clearTimeout(pasteFallback);
    pasteFallback = setTimeout(() => {
      if (!navigator.clipboard?.readText) {
        onPasteDenied();
        return;
      }
      navigator.clipboard.readText().then(
        (text) => {
          if (text) term.paste(sanitizePaste(text));
        },
        () => onPasteDenied(),
      );
    }, 80);
    return false;
  });

  return {
    dispose() {
      clearTimeout(pasteFallback);
      host.removeEventListener('paste', onPaste, true);
      term.attachCustomKeyEventHandler(() => true);
    },
  };
}
