/**
 * Page load to usable prompt, measured in a real Chromium: the clock starts in
 * Node just before `page.goto`/`page.reload` and stops when the page reports
 * (through an exposed binding, so on Node's clock) that `berth-terminal` is
 * `data-state=ready` AND `.xterm-rows` shows `learner@berth...$`.
 *
 * An init script watches the DOM with a MutationObserver (no polling delay) and
 * records in-page marks (page clock, ms since navigation start) to explain
 * where the time goes: HTML, DOMContentLoaded, /api/session, socket open, each
 * status message, first output, prompt.
 */
import { performance } from 'node:perf_hooks';
import type { BrowserContext, Page } from 'playwright-core';

/** What the page reports once the prompt is usable; all times in ms since its navigation start. */
export interface PageReport {
  timeOrigin: number;
  marks: Record<string, number>;
}

export interface LoadSample {
  /** goto/reload called -> prompt visible and state ready, on Node's clock. */
  totalMs: number;
  /** The document's performance.timeOrigin (epoch ms), to place server-side events on its timeline. */
  timeOrigin: number;
  /** In-page marks, plus `navStart`: goto -> the document's navigation start (includes the report's own latency, ~1 ms). */
  phases: Record<string, number>;
}

const BINDING = '__berthBenchReady';

/** Runs in every document of the context before its own scripts. */
const INIT_SCRIPT = `(() => {
  if (window.top !== window) return;
  const marks = {};
  const mark = (k) => { if (!(k in marks)) marks[k] = performance.now(); };
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      mark('wsCreated');
      this.addEventListener('open', () => mark('wsOpen'));
      this.addEventListener('message', (ev) => {
        if (typeof ev.data !== 'string') return mark('firstOutput');
        try {
          const m = JSON.parse(ev.data);
          mark(m.t === 'status' ? 'status:' + m.state : m.t);
        } catch {}
      });
    }
  };
  document.addEventListener('DOMContentLoaded', () => mark('domContentLoaded'));
  document.fonts && document.fonts.ready.then(() => mark('fontsReady'));
  const PROMPT = /learner@berth[^$]*\\$/;
  let done = false;
  let hooked = false;
  const check = () => {
    if (done) return;
    const el = document.querySelector('berth-terminal');
    if (!el) return;
    const term = el.terminal;
    if (term && !hooked) {
      // Diagnostics only: when xterm has parsed the prompt into its buffer, and its renders.
      hooked = true;
      mark('xtermOpened');
      term.onWriteParsed(() => {
        const b = term.buffer.active;
        for (let y = Math.max(0, b.length - 200); y < b.length; y++) {
          const line = b.getLine(y);
          if (line && PROMPT.test(line.translateToString(true))) return mark('promptParsed');
        }
      });
      term.onRender(() => { if ('promptParsed' in marks) mark('renderAfterParse'); });
    }
    const ready = el.dataset.state === 'ready';
    if (ready) mark('dataStateReady');
    const rows = el.querySelector('.xterm-rows');
    const prompt = !!rows && PROMPT.test(rows.textContent || '');
    if (prompt) mark('promptInDom');
    if (!ready || !prompt) return;
    done = true;
    observer.disconnect();
    mark('usable');
    const session = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/api/session'));
    if (session) { marks['session:start'] = session.startTime; marks['session:end'] = session.responseEnd; }
    const nav = performance.getEntriesByType('navigation')[0];
    if (nav) { marks['html:request'] = nav.requestStart; marks['html:end'] = nav.responseEnd; }
    window.${BINDING}({ timeOrigin: performance.timeOrigin, marks });
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['data-state'] });
})();`;

/** Per-context helper: one measurement at a time. */
export class PromptWatch {
  private waiter: ((r: { at: number; report: PageReport }) => void) | undefined;

  static async attach(context: BrowserContext): Promise<PromptWatch> {
    const watch = new PromptWatch();
    await context.exposeBinding(BINDING, (_source, report: PageReport) => {
      const at = performance.now();
      watch.waiter?.({ at, report });
    });
    await context.addInitScript(INIT_SCRIPT);
    return watch;
  }

  /**
   * Starts the clock, navigates with `navigate`, and resolves when a document
   * that started after the clock reports a usable prompt.
   */
  async measure(page: Page, navigate: () => Promise<unknown>, timeoutMs: number, what: string): Promise<LoadSample> {
    const t0 = performance.now();
    const t0Epoch = performance.timeOrigin + t0;
    let timer: NodeJS.Timeout | undefined;
    const reported = new Promise<{ at: number; report: PageReport }>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no usable prompt within ${timeoutMs} ms`)), timeoutMs);
      this.waiter = (r) => {
        // A document that began before the clock (the previous page) does not count.
        if (r.report.timeOrigin < t0Epoch - 50) return;
        resolve(r);
      };
    });
    try {
      const nav = navigate();
      nav.catch(() => {}); // if the prompt wins the race, a late navigation error is not ours to report
      await Promise.race([nav, reported]);
      const { at, report } = await reported;
      const totalMs = at - t0;
      const usable = report.marks.usable ?? Number.NaN;
      return { totalMs, timeOrigin: report.timeOrigin, phases: { navStart: totalMs - usable, ...report.marks } };
    } catch (err) {
      const state = await page.locator('berth-terminal').getAttribute('data-state', { timeout: 1000 }).catch(() => '?');
      const rows = await page.locator('.xterm-rows').textContent({ timeout: 1000 }).catch(() => '?');
      throw new Error(`${(err as Error).message} (data-state=${state}, rows=${JSON.stringify((rows ?? '').slice(-300))})`);
    } finally {
      clearTimeout(timer);
      this.waiter = undefined;
    }
  }
}

/** The phases shown in the breakdown, in page order. */
export const PHASES: [key: string, label: string][] = [
  ['navStart', 'goto -> navigation start'],
  ['html:request', 'HTML requested'],
  ['srv:html', '  server: HTML request arrives'],
  ['html:end', 'HTML received'],
  ['domContentLoaded', 'DOMContentLoaded'],
  ['fontsReady', 'document.fonts.ready'],
  ['xtermOpened', 'xterm opened'],
  ['session:start', '/api/session sent'],
  ['srv:session', '  server: /api/session arrives'],
  ['session:end', '/api/session answered'],
  ['wsCreated', 'WebSocket created'],
  ['srv:upgrade', '  server: upgrade arrives'],
  ['wsOpen', 'WebSocket open'],
  ['status:creating', 'status creating'],
  ['status:starting', 'status starting'],
  ['status:ready', 'status ready'],
  ['replay', 'replay header'],
  ['firstOutput', 'first output frame'],
  ['promptParsed', 'prompt parsed by xterm'],
  ['renderAfterParse', 'xterm render after that'],
  ['dataStateReady', 'data-state=ready'],
  ['promptInDom', 'prompt in .xterm-rows'],
  ['usable', 'usable (both)'],
];
