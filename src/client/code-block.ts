/**
 * <berth-code>: the wrapper the lesson code-block plugin puts around every
 * fenced block (src/lessons/code-blocks.ts). Copy copies the code; Run sends
 * it to the terminal through the `berth:run` event, which the sandbox panel
 * answers by sending it now or queueing it until the sandbox is ready.
 *
 * After a click the element carries `data-run-result` = sent | queued | busy | none
 * and says so in its `.code-status` live region (busy: the shell is running
 * another program, such as vim or `docker run -it busybox sh`, so nothing was typed).
 */
import { writeClipboard } from './clipboard.ts';
import { RUN_EVENT, STATE_EVENT, type RunEventDetail, type StateEventDetail } from './events.ts';
import { isLang, t } from '../i18n/strings.ts';

class BerthCode extends HTMLElement {
  #timer: ReturnType<typeof setTimeout> | undefined;

  connectedCallback(): void {
    this.addEventListener('click', this.#onClick);
    document.addEventListener(STATE_EVENT, this.#onState);
  }

  disconnectedCallback(): void {
    this.removeEventListener('click', this.#onClick);
    document.removeEventListener(STATE_EVENT, this.#onState);
    clearTimeout(this.#timer);
  }

  /** A queued command has gone out once the sandbox is ready. */
  #onState = (ev: Event): void => {
    const state = (ev as CustomEvent<StateEventDetail>).detail?.state;
    if (state === 'ready' && this.dataset.runResult === 'queued') {
      this.dataset.runResult = 'sent';
      this.#say(this.#strings().runSent);
    }
  };

  get command(): string {
    return this.dataset.command ?? this.querySelector('pre')?.textContent?.replace(/\n+$/, '') ?? '';
  }

  #strings() {
    const lang = document.documentElement.lang;
    return t(isLang(lang) ? lang : 'ko');
  }

  #say(text: string, keep = false): void {
    const status = this.querySelector<HTMLElement>('.code-status');
    if (!status) return;
    status.textContent = text;
    clearTimeout(this.#timer);
    if (!keep) this.#timer = setTimeout(() => (status.textContent = ''), 2500);
  }

  #onClick = (ev: MouseEvent): void => {
    const target = ev.target instanceof Element ? ev.target.closest<HTMLButtonElement>('button[data-action]') : null;
    if (!target || !this.contains(target)) return;
    const s = this.#strings();
    if (target.dataset.action === 'copy') {
      void writeClipboard(this.command).then((ok) => this.#say(ok ? s.copied : s.copyFailed));
      return;
    }
    if (target.dataset.action === 'run') {
      const detail: RunEventDetail = { command: this.command };
      this.dispatchEvent(new CustomEvent(RUN_EVENT, { bubbles: true, composed: true, detail }));
      this.dataset.runResult = detail.result ?? 'none';
      if (detail.result === 'sent') this.#say(s.runSent);
      else if (detail.result === 'queued') this.#say(s.runQueued, true);
      else if (detail.result === 'busy') this.#say(s.runBusy, true);
      else this.#say(s.runNoTerminal);
    }
  };
}

if (!customElements.get('berth-code')) customElements.define('berth-code', BerthCode);
