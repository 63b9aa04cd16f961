/** A terminal client for tests: the same protocol a page speaks, over a real socket. */
import { WebSocket } from 'ws';
import { TERMINAL_PATH, parseServerMessage, type ServerMessage } from '../../sandbox-server/src/protocol.ts';

export interface ClosedInfo {
  code: number;
  reason: string;
}

export class TestTerminal {
  readonly ws: WebSocket;
  readonly messages: ServerMessage[] = [];
  private chunks: Buffer[] = [];
  private waiters: (() => void)[] = [];
  closed: ClosedInfo | undefined;
  readonly opened: Promise<void>;

  /** localAddress: the client's own address (e.g. 127.0.0.9), so tests can be learners at different addresses. */
  constructor(origin: string, opts: { cookie?: string; originHeader?: string; localAddress?: string; hello?: { cols: number; rows: number; lesson?: string; lang?: 'ko' | 'en' } | false }) {
    const url = origin.replace(/^http/, 'ws') + TERMINAL_PATH;
    const headers: Record<string, string> = {};
    if (opts.cookie) headers.Cookie = opts.cookie;
    this.ws = new WebSocket(url, { headers, origin: opts.originHeader ?? origin, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      this.ws.on('error', reject);
    });
    this.opened.catch(() => {});
    this.ws.on('open', () => {
      if (opts.hello !== false) this.ws.send(JSON.stringify({ t: 'hello', ...(opts.hello ?? { cols: 120, rows: 40 }) }));
    });
    this.ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) this.chunks.push(data);
      else {
        const parsed = parseServerMessage(data.toString());
        if (!parsed.ok) throw new Error(`server sent an invalid message: ${data.toString()}`);
        this.messages.push(parsed.value);
        if (parsed.value.t === 'replay') this.chunks = []; // like the page: the replay replaces the screen
      }
      this.notify();
    });
    this.ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.notify();
    });
  }

  get output(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  get outputBytes(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }

  clearOutput(): void {
    this.chunks = [];
  }

  get states(): string[] {
    return this.messages.flatMap((m) => (m.t === 'status' ? [m.state] : []));
  }

  send(text: string): void {
    this.ws.send(Buffer.from(text), { binary: true });
  }

  control(msg: object): void {
    this.ws.send(JSON.stringify(msg));
  }

  /** Waits until `predicate` holds, re-checking on every frame. */
  async until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; states=${this.states.join(',')} closed=${JSON.stringify(this.closed)} output tail=${JSON.stringify(this.output.slice(-400))}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    return this.until(() => pattern.test(this.output), timeoutMs, `output ${pattern}`);
  }

  async waitForState(state: string, timeoutMs = 60_000): Promise<void> {
    await this.until(() => this.states.at(-1) === state || this.states.at(-1) === 'failed', timeoutMs, `state ${state}`);
    const last = this.messages.filter((m) => m.t === 'status').at(-1);
    if (last?.state !== state) throw new Error(`sandbox went to ${last?.state} instead of ${state}: ${last?.message}`);
  }

  waitForClose(timeoutMs = 15_000): Promise<ClosedInfo> {
    return this.until(() => this.closed !== undefined, timeoutMs, 'close').then(() => this.closed!);
  }

  /** Runs a command and waits for a marker echoed after it, so output is complete. */
  async run(command: string, timeoutMs = 60_000): Promise<string> {
    const marker = `__done_${Math.random().toString(36).slice(2)}__`;
    const from = this.output.length;
    this.send(`${command}; echo ${marker.slice(0, 6)}""${marker.slice(6)}\r`);
    await this.waitForOutput(new RegExp(`${marker}\\r?\\n`), timeoutMs);
    const out = this.output.slice(from);
    // Without the shell's OSC markers (133 shell integration, 6973 re-check): a page never shows them.
    return out.slice(0, out.lastIndexOf(marker)).replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, '');
  }

  close(): void {
    this.ws.close();
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
