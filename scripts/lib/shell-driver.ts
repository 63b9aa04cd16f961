/**
 * Types commands into a sandbox's interactive login shell, as a learner would,
 * and reads back each one's exit status. Used by the lesson verifier (reference
 * solutions) and the block runner (a lesson's runnable blocks).
 */
import { randomBytes } from 'node:crypto';
import type { Shell } from '../../sandbox-server/src/runtime/types.ts';
import { PROMPT_MARKER } from '../../sandbox-server/src/terminal.ts';

const PROMPT_PATTERN = new RegExp(PROMPT_MARKER.toString().replace(/[\\^$.*+?()[\]{}|]/g, '\\$&'));

export class ShellDriver {
  private output = '';
  private readonly shell: Shell;

  constructor(shell: Shell) {
    this.shell = shell;
    shell.stream.on('data', (d: Buffer) => (this.output += d.toString('utf8')));
  }

  /**
   * Types `code` line by line, then an end marker carrying `$?`. With `interactive`,
   * the code opened a program that reads the terminal: `exit` is typed into it and
   * the marker waits for the shell's own prompt (typed earlier, the program would
   * swallow it). On timeout, interrupts with Ctrl+C and throws.
   */
  async run(code: string, opts: { timeoutMs: number; interactive?: boolean }): Promise<{ exitCode: number; output: string }> {
    const nonce = randomBytes(6).toString('hex');
    const from = this.output.length;
    for (const line of code.trimEnd().split('\n')) this.type(`${line}\r`);
    if (opts.interactive) {
      await new Promise((r) => setTimeout(r, 2500));
      const beforeExit = this.output.length;
      this.type('exit\r');
      await this.waitFor(PROMPT_PATTERN, beforeExit, 30_000).catch(() => {});
    }
    // The quotes split the marker so the echoed command line never matches.
    this.type(`echo "__done_${nonce}""_$?__"\r`);
    try {
      const m = await this.waitFor(new RegExp(`__done_${nonce}_(\\d+)__`), from, opts.timeoutMs);
      return { exitCode: Number(m[1]), output: this.output.slice(from) };
    } catch (err) {
      this.type('\x03');
      throw err;
    }
  }

  /** The last `chars` characters the shell printed (for reports). */
  tail(chars: number): string {
    return this.output.slice(-chars);
  }

  close(): void {
    this.shell.stream.destroy();
  }

  private type(text: string): void {
    this.shell.stream.write(text);
  }

  private async waitFor(re: RegExp, from: number, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.output.slice(from));
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`did not finish within ${Math.round(timeoutMs / 1000)} s; output: ${this.output.slice(-600)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
