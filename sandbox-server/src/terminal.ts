/**
 * One terminal per sandbox: a login shell with a TTY, shared by every tab the
 * learner has open. Output goes to a bounded scrollback ring (replayed on
 * reconnect) and to each attached client. Flow control: the shell's stream is
 * paused while any client asked to pause or has too much unsent output, so a
 * command that prints without end cannot grow the server's or the page's memory.
 */
import type { Shell } from './runtime/types.ts';
import { RingBuffer } from './ring-buffer.ts';

/** Unsent bytes per client above which output is paused, and below which it resumes. */
export const SERVER_HIGH_WATER_BYTES = 1024 * 1024;
export const SERVER_LOW_WATER_BYTES = 256 * 1024;
/**
 * Input waiting for a shell that does not read it (a foreground `sleep`) is held up
 * to this much; beyond it keystrokes are dropped, as a full tty input queue does,
 * so a page flooding input cannot grow the server's memory.
 */
export const MAX_PENDING_INPUT_BYTES = 4 * 1024 * 1024;
/** Largest binary frame sent to a page. */
const OUTPUT_FRAME_BYTES = 32 * 1024;
/** The sandbox's bash prints this OSC after every command (images/sandbox/bashrc). */
export const PROMPT_MARKER = Buffer.from('\x1b]6973;berth-prompt\x07');

export interface TerminalClient {
  /** Bytes queued for this client but not yet written to its socket. */
  readonly backlog: number;
  /** True while the page asked us to stop sending (its renderer is behind). */
  readonly pausedByPage: boolean;
  /** Sends terminal bytes; `flushed` runs once they left the process. */
  sendOutput(data: Buffer, flushed: () => void): void;
  /** Replaces what the page shows with this scrollback; live output follows. */
  sendReplay(data: Buffer): void;
}

export class Terminal {
  private readonly shell: Shell;
  private readonly ring: RingBuffer;
  /** Clients that have had the scrollback and now get live output; owned by the sandbox. */
  private readonly clients: ReadonlySet<TerminalClient>;
  private closed = false;
  private paused = false;
  /** The end of the previous chunk, so a marker split across chunks is still seen. */
  private tail = Buffer.alloc(0);
  private readonly onPrompt: (() => void) | undefined;
  /** Sees every output chunk (watchers, recordings); must not throw. */
  private readonly onOutput: ((chunk: Buffer) => void) | undefined;
  readonly startedAt = Date.now();

  constructor(shell: Shell, ring: RingBuffer, clients: ReadonlySet<TerminalClient>, onExit: () => void, onPrompt?: () => void, onOutput?: (chunk: Buffer) => void) {
    this.shell = shell;
    this.onOutput = onOutput;
    this.ring = ring;
    this.clients = clients;
    this.onPrompt = onPrompt;
    shell.stream.on('data', (chunk: Buffer) => this.output(chunk));
    let exited = false;
    const exit = () => {
      if (exited) return;
      exited = true;
      if (!this.closed) {
        this.closed = true;
        onExit();
      }
    };
    shell.stream.on('end', exit);
    shell.stream.on('close', exit);
    shell.stream.on('error', exit);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Sends input to the shell; false when it was dropped because the shell is not reading. */
  write(data: Buffer): boolean {
    if (this.closed || this.shell.stream.writableLength + data.length > MAX_PENDING_INPUT_BYTES) return false;
    this.shell.stream.write(data);
    return true;
  }

  resize(cols: number, rows: number): Promise<void> {
    return this.shell.resize(cols, rows);
  }

  /** Text the server itself writes into the terminal (e.g. "shell restarted"). */
  notice(text: string): void {
    this.output(Buffer.from(`\r\n\x1b[2m[berth] ${text}\x1b[0m\r\n`));
  }

  /** Ends the shell without calling onExit (the caller is already tearing down). */
  close(): void {
    this.closed = true;
    this.shell.stream.destroy();
  }

  private output(chunk: Buffer): void {
    if (this.onPrompt) {
      const seen = Buffer.concat([this.tail, chunk]);
      if (seen.includes(PROMPT_MARKER)) this.onPrompt();
      this.tail = seen.subarray(Math.max(0, seen.length - PROMPT_MARKER.length + 1));
    }
    this.ring.push(chunk);
    this.onOutput?.(chunk);
    for (let i = 0; i < chunk.length; i += OUTPUT_FRAME_BYTES) {
      const frame = chunk.subarray(i, i + OUTPUT_FRAME_BYTES);
      for (const c of this.clients) c.sendOutput(frame, () => this.updateFlow());
    }
    this.updateFlow();
  }

  /** Pauses the shell's stream while any client is behind; resumes when all caught up. */
  updateFlow(): void {
    if (this.closed) return;
    let behind = false;
    let caughtUp = true;
    for (const c of this.clients) {
      if (c.pausedByPage || c.backlog > SERVER_HIGH_WATER_BYTES) behind = true;
      if (c.pausedByPage || c.backlog > SERVER_LOW_WATER_BYTES) caughtUp = false;
    }
    if (!this.paused && behind) {
      this.paused = true;
      this.shell.stream.pause();
    } else if (this.paused && caughtUp) {
      this.paused = false;
      this.shell.stream.resume();
    }
  }

  get isPaused(): boolean {
    return this.paused;
  }
}
