/** An instructor's watch socket for tests: the protocol the watch page speaks. */
import { WebSocket } from 'ws';
import { WATCH_PATH, parseWatchServerMessage, type WatchServerMessage } from '../../sandbox-server/src/protocol.ts';

export class TestWatcher {
  readonly ws: WebSocket;
  readonly messages: WatchServerMessage[] = [];
  /** Each binary frame with the time it arrived (performance.now()). */
  readonly frames: { at: number; data: Buffer }[] = [];
  readonly opened: Promise<void>;
  closed: { code: number; reason: string } | undefined;

  constructor(origin: string, learner: string, opts: { cookie?: string; originHeader?: string }) {
    const headers: Record<string, string> = opts.cookie ? { Cookie: opts.cookie } : {};
    this.ws = new WebSocket(`${origin.replace(/^http/, 'ws')}${WATCH_PATH}?learner=${learner}`, { headers, origin: opts.originHeader ?? origin });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      this.ws.on('error', reject);
    });
    this.opened.catch(() => {});
    this.ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) return void this.frames.push({ at: performance.now(), data });
      const parsed = parseWatchServerMessage(data.toString());
      if (!parsed.ok) throw new Error(`server sent an invalid watch message: ${data.toString()}`);
      this.messages.push(parsed.value);
    });
    this.ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
  }

  get output(): string {
    return Buffer.concat(this.frames.map((f) => f.data)).toString('utf8');
  }

  async until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; messages=${JSON.stringify(this.messages)} tail=${JSON.stringify(this.output.slice(-300))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  type(text: string): void {
    this.ws.send(Buffer.from(text), { binary: true });
  }

  help(on: boolean): void {
    this.ws.send(JSON.stringify({ t: 'help', on }));
  }

  close(): void {
    this.ws.close();
  }
}
