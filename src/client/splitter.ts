/**
 * The divider between lesson text and sandbox panel: drag with a pointer or
 * focus it and use the arrow keys (Home/End for the limits). The split is a
 * percentage of the layout's width, kept in localStorage.
 *
 * Markup: an element with role="separator", aria-orientation="vertical",
 * aria-valuenow/min/max, inside `layout`, which reads `--text-size`.
 */
const STORAGE_KEY = 'berth:split';
const STEP = 2;
const BIG_STEP = 10;

export function clampSplit(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(value * 10) / 10));
}

export function initSplitter(separator: HTMLElement, layout: HTMLElement): void {
  const min = Number(separator.getAttribute('aria-valuemin') ?? 25);
  const max = Number(separator.getAttribute('aria-valuemax') ?? 75);

  const apply = (value: number, save = true) => {
    const v = clampSplit(value, min, max);
    layout.style.setProperty('--text-size', `${v}%`);
    separator.setAttribute('aria-valuenow', String(Math.round(v)));
    separator.setAttribute('aria-valuetext', `${Math.round(v)}%`);
    if (save) {
      try {
        localStorage.setItem(STORAGE_KEY, String(v));
      } catch {
        /* private mode */
      }
    }
  };

  let initial = Number(separator.getAttribute('aria-valuenow') ?? 50);
  try {
    const saved = Number(localStorage.getItem(STORAGE_KEY));
    if (saved) initial = saved;
  } catch {
    /* ignore */
  }
  apply(initial, false);

  const current = () => Number(separator.getAttribute('aria-valuenow') ?? 50);

  separator.addEventListener('keydown', (ev) => {
    let next: number | undefined;
    const step = ev.shiftKey ? BIG_STEP : STEP;
    switch (ev.key) {
      case 'ArrowLeft':
      case 'ArrowUp':
        next = current() - step;
        break;
      case 'ArrowRight':
      case 'ArrowDown':
        next = current() + step;
        break;
      case 'PageUp':
        next = current() - BIG_STEP;
        break;
      case 'PageDown':
        next = current() + BIG_STEP;
        break;
      case 'Home':
        next = min;
        break;
      case 'End':
        next = max;
        break;
      case 'Enter':
        next = 50;
        break;
    }
    if (next === undefined) return;
    ev.preventDefault();
    apply(next);
  });

  separator.addEventListener('pointerdown', (ev) => {
    if (ev.button !== 0) return;
    ev.preventDefault();
    separator.setPointerCapture(ev.pointerId);
    separator.dataset.dragging = '';
    layout.dataset.dragging = '';
    const rect = layout.getBoundingClientRect();
    const move = (e: PointerEvent) => apply(((e.clientX - rect.left) / rect.width) * 100);
    const up = (e: PointerEvent) => {
      separator.releasePointerCapture(e.pointerId);
      separator.removeEventListener('pointermove', move);
      separator.removeEventListener('pointerup', up);
      separator.removeEventListener('pointercancel', up);
      delete separator.dataset.dragging;
      delete layout.dataset.dragging;
    };
    separator.addEventListener('pointermove', move);
    separator.addEventListener('pointerup', up);
    separator.addEventListener('pointercancel', up);
  });

  separator.addEventListener('dblclick', () => apply(50));
}
