/**
 * The terminal WebSocket: authentication and Origin checks at the upgrade, a
 * first-message timeout, typed control messages, rate limits (frames per socket;
 * connections and sandbox creations per client address), and heartbeats.
 * Everything a page sends is validated here before it reaches a sandbox.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, WebSocket } from 'ws';
import { CloseCode, FIRST_MESSAGE_TIMEOUT_MS, MAX_FRAME_BYTES, type ServerMessage, parseClientMessage } from './protocol.ts';
import type { SandboxClient, SandboxManager } from './sandboxes.ts';
import type { Logger } from './log.ts';
import { oncePer, shortHandle } from './log.ts';
import { type RateLimiter, TokenBucket, limitKey, retryAfterSeconds } from './rate-limit.ts';
import type { Metrics, RateLimitName } from './metrics.ts';
import { guarded } from './listener-guard.ts';

export interface TerminalServerOptions {
  manager: SandboxManager;
  log: Logger;
  /** The learner handle for a request's cookie, or undefined when it has no valid one. */
  authenticate: (req: IncomingMessage) => string | undefined;
  isAllowedOrigin: (origin: string | undefined) => boolean;
  maxTerminalsPerLearner: number;
  firstMessageTimeoutMs?: number;
  /** The client's address (socket peer, or the trusted proxy's X-Forwarded-For). */
  clientAddress: (req: IncomingMessage) => string;
  /** Running plus queued sandboxes allowed per client address; absent: no cap. */
  maxSandboxesPerAddress?: number;
  /** Per-address limits on connections (shared with /api/*) and sandbox creations; absent: off. */
  limits: { api?: RateLimiter; sandboxes?: RateLimiter };
  metrics: Metrics;
  /** Classroom: a page said hello (who watches it, which lesson its recording is of). */
  onHello?: (learner: string, client: SandboxClient & { lesson: string | undefined; size: { cols: number; rows: number } }) => void;
  /** Classroom: a page of the learner asked for this terminal size (watchers follow it). */
  onResize?: (learner: string, cols: number, rows: number) => void;
  /** Classroom: the learner ended an instructor's help. */
  onHelpEnd?: (learner: string) => void;
}

const HEARTBEAT_MS = 30_000;
const originRefusals = oncePer(60_000);
/** Frames per second a page may send on average, and the burst it may save up. */
const FRAME_RATE = { perSecond: 200, burst: 1000 };
/**
 * Control (text) messages per second per learner, over all their tabs, and the burst:
 * a page sends a hello, resizes while its window is dragged, and a hint or check now
 * and then; 190 a second on 8 sockets is an attack on the engine and the store.
 */
const CONTROL_RATE = { perSecond: 20, burst: 200 };
/** Fragments per message (ws defaults to 16384; each is an array slot until the message ends). */
const MAX_FRAGMENTS = 256;

export class TerminalServer {
  /** maxPayload caps a message's total over all its fragments (1009); pages never fragment, so few fragments are allowed (1008). */
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, maxFragments: MAX_FRAGMENTS, perMessageDeflate: false });
  private readonly opts: TerminalServerOptions;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly alive = new WeakSet<WebSocket>();
  /** Open terminal sockets per learner, from the upgrade on. */
  private readonly sockets = new Map<string, number>();
  /** Control messages per learner, over all their sockets: each can cost an engine call or a store write. */
  private readonly controlBudgets = new Map<string, TokenBucket>();

  constructor(opts: TerminalServerOptions) {
    this.opts = opts;
    this.heartbeat = setInterval(() => this.checkAlive(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  get connections(): number {
    return this.wss.clients.size;
  }

  /** Handles an HTTP upgrade for the terminal path: refuse before any socket exists. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { log, metrics, limits } = this.opts;
    if (!this.opts.isAllowedOrigin(req.headers.origin)) {
      // Before any limit: no header content at warn, and one line a minute (metrics count every refusal).
      if (originRefusals()) log.warn('terminal upgrades refused: origin not allowed (is BERTH_PUBLIC_URL the URL learners open? the origins are logged at debug)');
      log.debug({ origin: String(req.headers.origin ?? '').slice(0, 100) }, 'terminal upgrade refused: origin not allowed');
      metrics.upgrades.inc({ outcome: 'origin' });
      return refuse(socket, 403, 'Forbidden: this origin may not open terminals (see BERTH_PUBLIC_URL / BERTH_ALLOWED_ORIGINS)');
    }
    const learner = this.opts.authenticate(req);
    if (!learner) {
      metrics.upgrades.inc({ outcome: 'auth' });
      return refuse(socket, 401, 'Unauthorized: no valid learner cookie; load the site first');
    }
    // Counted from the upgrade, not from hello: a socket that never says hello still holds buffers.
    if ((this.sockets.get(learner) ?? 0) >= this.opts.maxTerminalsPerLearner) {
      metrics.upgrades.inc({ outcome: 'terminals' });
      return refuse(socket, 429, 'Too Many Requests: too many open terminals for this learner');
    }
    // Per-address limits close an accepted socket with 4029, which the page shows and waits out.
    const key = limitKey(this.opts.clientAddress(req));
    const refusal = this.overLimit('api', limits.api, key, 'connections');
    if (refusal) {
      metrics.upgrades.inc({ outcome: 'rate' });
      return this.wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('error', () => {}); // e.g. an oversized frame from a client that ignores the close
        ws.close(CloseCode.RateLimited, refusal);
      });
    }
    metrics.upgrades.inc({ outcome: 'accepted' });
    this.sockets.set(learner, (this.sockets.get(learner) ?? 0) + 1);
    socket.once('close', () => {
      const left = (this.sockets.get(learner) ?? 1) - 1;
      if (left > 0) this.sockets.set(learner, left);
      else this.sockets.delete(learner);
    });
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, learner, key));
  }

  /** Spends a token of a per-address limit; returns the close reason when there is none. */
  private overLimit(name: RateLimitName, limiter: RateLimiter | undefined, key: string, what: string): string | undefined {
    const waitMs = this.spend(name, limiter, key);
    return waitMs === undefined ? undefined : `too many ${what} from your address; retry in ${retryAfterSeconds(waitMs)} s`;
  }

  /** Spends a token of a per-address limit; returns the wait in ms when there is none. */
  private spend(name: RateLimitName, limiter: RateLimiter | undefined, key: string): number | undefined {
    const taken = limiter?.take(key);
    if (!taken || taken.ok) return undefined;
    this.opts.metrics.rateLimited.inc({ limit: name });
    return taken.retryAfterMs;
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const ws of this.wss.clients) ws.close(CloseCode.ServerShutdown, 'server shutting down');
    this.wss.close();
  }

  private onConnection(ws: WebSocket, learner: string, addressKey: string): void {
    const { manager, log } = this.opts;
    const who = shortHandle(learner);
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    let client: WsClient | undefined;
    const frames = new TokenBucket(FRAME_RATE);

    const firstMessageTimer = setTimeout(
      () => ws.close(CloseCode.FirstMessageTimeout, 'expected hello'),
      this.opts.firstMessageTimeoutMs ?? FIRST_MESSAGE_TIMEOUT_MS,
    );
    const fail = (code: number, reason: string) => {
      // A bad message's reason quotes the client's JSON (zod names its keys): not logged.
      log.info({ learner: who, code, reason: code === CloseCode.BadMessage ? 'bad message' : reason }, 'closing terminal socket');
      ws.close(code, closeReason(reason));
    };

    // A throw while handling one socket's message closes that socket, not the server.
    const onMessage = guarded((data: RawData, isBinary: boolean) => {
      if (!frames.take().ok) return fail(CloseCode.RateLimited, 'too many messages');

      const bytes = toBuffer(data);
      if (isBinary) {
        if (!client) return fail(CloseCode.BadMessage, 'expected hello before input');
        return manager.input(learner, bytes);
      }
      if (!this.controlBudget(learner).take().ok) return fail(CloseCode.RateLimited, 'too many control messages');
      const parsed = parseClientMessage(bytes.toString('utf8'));
      if (!parsed.ok) return fail(CloseCode.BadMessage, `bad message: ${parsed.error}`);
      const msg = parsed.value;
      if (!client) {
        if (msg.t !== 'hello') return fail(CloseCode.BadMessage, 'expected hello first');
        clearTimeout(firstMessageTimer);
        // A learner's first hello creates their sandbox: that is what the per-address limit guards.
        const creating = manager.status(learner).state === 'absent';
        const refusal = creating && this.overLimit('sandboxes', this.opts.limits.sandboxes, addressKey, 'new sandboxes');
        if (refusal) return fail(CloseCode.RateLimited, refusal);
        // Running plus queued sandboxes per address: a cookie costs nothing, a slot does.
        const cap = this.opts.maxSandboxesPerAddress;
        if (cap !== undefined && !manager.isActive(learner) && manager.activeFromAddress(addressKey, learner) >= cap) {
          this.opts.metrics.rateLimited.inc({ limit: 'sandboxes' });
          return fail(CloseCode.RateLimited, `${cap} sandboxes from your address are running or waiting already; close one (operator: BERTH_SANDBOXES_PER_ADDRESS)`);
        }
        client = new WsClient(ws, msg.cols, msg.rows, msg.lesson, msg.lang ?? 'ko');
        manager.attach(learner, client, addressKey);
        this.opts.onHello?.(learner, client);
        return;
      }
      switch (msg.t) {
        case 'hello':
          return fail(CloseCode.BadMessage, 'hello sent twice');
        case 'resize':
          client.size = { cols: msg.cols, rows: msg.rows };
          this.opts.onResize?.(learner, msg.cols, msg.rows);
          return manager.resize(learner, msg.cols, msg.rows);
        case 'pause':
        case 'resume':
          client.pausedByPage = msg.t === 'pause';
          return manager.flowChanged(learner);
        case 'reset': {
          // A reset is a new sandbox: it spends the per-address allowance for those too.
          const outcome = manager.requestReset(learner, client, () => this.spend('sandboxes', this.opts.limits.sandboxes, addressKey));
          if (!outcome.ok) client.sendMessage({ t: 'error', message: resetRefused(client.lang, retryAfterSeconds(outcome.retryAfterMs)) });
          return;
        }
        case 'help-end':
          return this.opts.onHelpEnd?.(learner);
        case 'check':
        case 'hint':
        case 'solution':
        case 'quiz':
          return manager.exerciseRequest(learner, client, msg);
      }
    }, log, 'terminal message', () => ws.close(1011, 'internal error'));
    ws.on('message', onMessage);
    ws.on('close', () => {
      clearTimeout(firstMessageTimer);
      if (client) manager.detach(learner, client);
    });
    ws.on('error', (err) => log.info({ learner: who, err: err.message }, 'terminal socket error'));
  }

  private controlBudget(learner: string): TokenBucket {
    let bucket = this.controlBudgets.get(learner);
    if (!bucket) {
      bucket = new TokenBucket(CONTROL_RATE);
      this.controlBudgets.set(learner, bucket);
    }
    return bucket;
  }

  private checkAlive(): void {
    // Budgets of learners with no socket left are full again by now: forget them.
    for (const learner of this.controlBudgets.keys()) if (!this.sockets.has(learner)) this.controlBudgets.delete(learner);
    for (const ws of this.wss.clients) {
      if (!this.alive.has(ws)) {
        ws.terminate();
        continue;
      }
      this.alive.delete(ws);
      ws.ping();
    }
  }
}

class WsClient implements SandboxClient {
  size: { cols: number; rows: number };
  pausedByPage = false;
  readonly lesson: string | undefined;
  readonly lang: 'ko' | 'en';
  private readonly ws: WebSocket;

  constructor(ws: WebSocket, cols: number, rows: number, lesson: string | undefined, lang: 'ko' | 'en') {
    this.ws = ws;
    this.size = { cols, rows };
    this.lesson = lesson;
    this.lang = lang;
  }

  get backlog(): number {
    return this.ws.bufferedAmount;
  }

  sendMessage(msg: ServerMessage): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  sendOutput(data: Buffer, flushed: () => void): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data, { binary: true }, () => flushed());
  }

  sendReplay(data: Buffer): void {
    this.sendMessage({ t: 'replay', bytes: data.length });
    for (let i = 0; i < data.length; i += MAX_FRAME_BYTES) this.sendOutput(data.subarray(i, i + MAX_FRAME_BYTES), () => {});
  }
}

function resetRefused(lang: 'ko' | 'en', seconds: number): string {
  return lang === 'ko'
    ? `방금 샌드박스를 초기화했어요. ${seconds}초 뒤에 다시 초기화할 수 있어요.`
    : `You reset this sandbox a moment ago. You can reset it again in ${seconds} s.`;
}

/** Close reasons are limited to 123 bytes of UTF-8; cut on a character boundary. */
export function closeReason(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  let out = '';
  for (const ch of flat) {
    if (Buffer.byteLength(out + ch) > 123) break;
    out += ch;
  }
  return out;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text.split(':')[0]}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}
