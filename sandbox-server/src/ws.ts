/**
 * The terminal WebSocket: authentication and Origin checks at the upgrade, a
 * first-message timeout, typed control messages, rate limits, and heartbeats.
 * Everything a page sends is validated here before it reaches a sandbox.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, WebSocket } from 'ws';
import { CloseCode, FIRST_MESSAGE_TIMEOUT_MS, MAX_FRAME_BYTES, type ServerMessage, parseClientMessage } from './protocol.ts';
import type { SandboxClient, SandboxManager } from './sandboxes.ts';
import type { Logger } from './log.ts';
import { shortHandle } from './log.ts';

export interface TerminalServerOptions {
  manager: SandboxManager;
  log: Logger;
  /** The learner handle for a request's cookie, or undefined when it has no valid one. */
  authenticate: (req: IncomingMessage) => string | undefined;
  isAllowedOrigin: (origin: string | undefined) => boolean;
  maxTerminalsPerLearner: number;
  firstMessageTimeoutMs?: number;
}

const HEARTBEAT_MS = 30_000;
/** Frames per second a page may send on average, and the burst it may save up. */
const FRAME_RATE = 200;
const FRAME_BURST = 1000;

export class TerminalServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  private readonly opts: TerminalServerOptions;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly alive = new WeakSet<WebSocket>();

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
    const { log } = this.opts;
    if (!this.opts.isAllowedOrigin(req.headers.origin)) {
      log.warn({ origin: req.headers.origin }, 'terminal upgrade refused: origin not allowed');
      return refuse(socket, 403, 'Forbidden: this origin may not open terminals (see BERTH_PUBLIC_URL / BERTH_ALLOWED_ORIGINS)');
    }
    const learner = this.opts.authenticate(req);
    if (!learner) return refuse(socket, 401, 'Unauthorized: no valid learner cookie; load the site first');
    if (this.opts.manager.clientCount(learner) >= this.opts.maxTerminalsPerLearner) {
      return refuse(socket, 429, 'Too Many Requests: too many open terminals for this learner');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, learner));
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const ws of this.wss.clients) ws.close(CloseCode.ServerShutdown, 'server shutting down');
    this.wss.close();
  }

  private onConnection(ws: WebSocket, learner: string): void {
    const { manager, log } = this.opts;
    const who = shortHandle(learner);
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    let client: WsClient | undefined;
    let tokens = FRAME_BURST;
    let lastRefill = Date.now();

    const firstMessageTimer = setTimeout(
      () => ws.close(CloseCode.FirstMessageTimeout, 'expected hello'),
      this.opts.firstMessageTimeoutMs ?? FIRST_MESSAGE_TIMEOUT_MS,
    );
    const fail = (code: number, reason: string) => {
      log.info({ learner: who, code, reason }, 'closing terminal socket');
      ws.close(code, closeReason(reason));
    };

    ws.on('message', (data: RawData, isBinary: boolean) => {
      const now = Date.now();
      tokens = Math.min(FRAME_BURST, tokens + ((now - lastRefill) / 1000) * FRAME_RATE);
      lastRefill = now;
      if (--tokens < 0) return fail(CloseCode.RateLimited, 'too many messages');

      const bytes = toBuffer(data);
      if (isBinary) {
        if (!client) return fail(CloseCode.BadMessage, 'expected hello before input');
        return manager.input(learner, bytes);
      }
      const parsed = parseClientMessage(bytes.toString('utf8'));
      if (!parsed.ok) return fail(CloseCode.BadMessage, `bad message: ${parsed.error}`);
      const msg = parsed.value;
      if (!client) {
        if (msg.t !== 'hello') return fail(CloseCode.BadMessage, 'expected hello first');
        clearTimeout(firstMessageTimer);
        client = new WsClient(ws, msg.cols, msg.rows, msg.lesson, msg.lang ?? 'ko');
        manager.attach(learner, client);
        return;
      }
      switch (msg.t) {
        case 'hello':
          return fail(CloseCode.BadMessage, 'hello sent twice');
        case 'resize':
          client.size = { cols: msg.cols, rows: msg.rows };
          return manager.resize(learner, msg.cols, msg.rows);
        case 'pause':
        case 'resume':
          client.pausedByPage = msg.t === 'pause';
          return manager.flowChanged(learner);
        case 'reset':
          void manager.reset(learner);
          return;
        case 'check':
        case 'hint':
        case 'solution':
        case 'quiz':
          return manager.exerciseRequest(learner, client, msg);
      }
    });
    ws.on('close', () => {
      clearTimeout(firstMessageTimer);
      if (client) manager.detach(learner, client);
    });
    ws.on('error', (err) => log.info({ learner: who, err: err.message }, 'terminal socket error'));
  }

  private checkAlive(): void {
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
