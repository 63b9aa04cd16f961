/**
 * Whether the sandbox's bash is waiting at its prompt, from the shell
 * integration markers its prompt prints (images/sandbox/bashrc):
 *
 *   OSC 133 ; A   before each prompt (from PROMPT_COMMAND)   -> at the prompt
 *   OSC 133 ; C   when a command starts (from PS0)           -> busy
 *   OSC 6973 ; berth-prompt  Berth's older per-prompt marker -> at the prompt
 *
 * Anything the sandbox runs can print these, so the state is only a courtesy
 * for the learner's own Run buttons (do not type a command into vim or into
 * `docker run -it busybox sh`), never a security decision.
 */
import type { IDisposable, IParser } from '@xterm/xterm';

export type ShellState = 'unknown' | 'prompt' | 'busy';

export class ShellTracker {
  state: ShellState = 'unknown';

  /** Register the OSC handlers on xterm's parser. */
  attach(parser: Pick<IParser, 'registerOscHandler'>): IDisposable[] {
    return [
      parser.registerOscHandler(133, (data) => {
        const kind = data.split(';', 1)[0];
        if (kind === 'A' || kind === 'B') this.state = 'prompt';
        else if (kind === 'C') this.state = 'busy';
        return true;
      }),
      parser.registerOscHandler(6973, (data) => {
        if (data === 'berth-prompt') this.state = 'prompt';
        return true;
      }),
    ];
  }

  /** Enter was sent: not at the prompt until the shell prints the next one. */
  markBusy(): void {
    this.state = 'busy';
  }

  /** The screen was reset; the next marker (or the replayed scrollback) tells again. */
  reset(): void {
    this.state = 'unknown';
  }
}
