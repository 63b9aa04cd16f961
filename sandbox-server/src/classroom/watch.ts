/**
 * Looking over a learner's shoulder: an instructor's read-only, live view of one
 * learner's terminal on its own socket (WATCH_PATH?learner=<handle>).
 *
 * The view starts from the learner's scrollback ring, the bytes a reconnecting
 * page of the learner's own is replayed, then follows the shell's output. No
 * screen model is kept on the server: one built when a watcher arrives could
 * only be built from that same ring, so it would show the same screen at the
 * cost of memory and CPU per watched terminal (see the README's numbers).
 *
 * A watcher never slows the learner: one that falls behind is closed, not waited
 * for. Its keystrokes reach the shell only while help is on; the learner's pages
 * are told who watches and who may type, and the learner can end help at any time.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, WebSocket } from 'ws';
import { CloseCode, MAX_FRAME_BYTES, type ServerMessage, type WatchServerMessage, parseWatchClientMessage } from '../protocol.ts';
import type { Logger } from '../log.ts';
import { shortHandle } from '../log.ts';
import { TokenBucket } from '../rate-limit.ts';
import { guarded } from '../listener-guard.ts';

export interface Instructor {
  id: string;
  name: string;
}

/** What the classroom's accounts and classes answer (injected: this module does not read them). */
export interface WatchAccess {
  /** The instructor a request's session cookie belongs to, if any. */
  instructorOf: (req: IncomingMessage) => Instructor | undefined;
  /** The learner is in a class this instructor owns. */
  canWatch: (instructorId: string, learner: string) => boolean;
}

/** The parts of the sandbox manager a watcher uses. */
export interface WatchedTerminals {
  screen(learner: string): { scrollback: Buffer; cols: number; rows: number } | undefined;
  tell(learner: string, msg: ServerMessage): void;
  input(learner: string, data: Buffer): void;
}

export interface WatchServerOptions extends WatchAccess {
  terminals: WatchedTerminals;
  log: Logger;
  isAllowedOrigin: (origin: string | undefined) => boolean;
  /** Open watch sockets per instructor. */
  maxPerInstructor?: number;
}

/** Unsent bytes after which a watcher is closed (it reopens and gets the scrollback again). */
export const WATCHER_MAX_BACKLOG_BYTES = 1024 * 1024;
const DEFAULT_MAX_PER_INSTRUCTOR = 10;
/** Frames per second a watcher may send (typing while helping), and the burst. */
const FRAME_RATE = { perSecond: 100, burst: 500 };
const LEARNER_HANDLE = /^[0-9a-f]{32}$/;
/** Close code: the watcher fell too far behind the shell's output. */
export const WATCHER_TOO_SLOW = 4008;

interface Watcher {
  ws: WebSocket;
  instructor: Instructor;
  learner: string;
  helping: boolean;
  /** The learner ended help on this view: it cannot be turned on again from it. */
  refused: boolean;
}

export class WatchServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, maxFragments: 16, perMessageDeflate: false });
  private readonly opts: WatchServerOptions;
  private readonly byLearner = new Map<string, Set<Watcher>>();
  private readonly perInstructor = new Map<string, number>();

  constructor(opts: WatchServerOptions) {
    this.opts = opts;
  }

  /** Open watch sockets. */
  get connections(): number {
    return this.wss.clients.size;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.opts.isAllowedOrigin(req.headers.origin)) return refuse(socket, 403, 'Forbidden: origin not allowed');
    const instructor = this.opts.instructorOf(req);
    if (!instructor) return refuse(socket, 401, 'Unauthorized: log in as an instructor');
    const learner = new URL(req.url ?? '/', 'http://x').searchParams.get('learner') ?? '';
    // The same answer for a learner who does not exist and one in someone else's class.
    if (!LEARNER_HANDLE.test(learner) || !this.opts.canWatch(instructor.id, learner)) return refuse(socket, 403, 'Forbidden: not a learner of your classes');
    const open = this.perInstructor.get(instructor.id) ?? 0;
    if (open >= (this.opts.maxPerInstructor ?? DEFAULT_MAX_PER_INSTRUCTOR)) return refuse(socket, 429, 'Too Many Requests: too many open views');
    this.perInstructor.set(instructor.id, open + 1);
    socket.once('close', () => {
      const left = (this.perInstructor.get(instructor.id) ?? 1) - 1;
      if (left > 0) this.perInstructor.set(instructor.id, left);
      else this.perInstructor.delete(instructor.id);
    });
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, instructor, learner));
  }

  private onConnection(ws: WebSocket, instructor: Instructor, learner: string): void {
    const w: Watcher = { ws, instructor, learner, helping: false, refused: false };
    const frames = new TokenBucket(FRAME_RATE);
    const screen = this.opts.terminals.screen(learner) ?? { scrollback: Buffer.alloc(0), cols: 80, rows: 24 };
    send(ws, { t: 'watching', cols: screen.cols, rows: screen.rows, bytes: screen.scrollback.length });
    for (let i = 0; i < screen.scrollback.length; i += MAX_FRAME_BYTES) ws.send(screen.scrollback.subarray(i, i + MAX_FRAME_BYTES), { binary: true });
    // Live output from here on: nothing runs between the replay above and this.
    let set = this.byLearner.get(learner);
    if (!set) this.byLearner.set(learner, (set = new Set()));
    set.add(w);
    this.opts.log.info({ learner: shortHandle(learner), instructor: instructor.id }, 'instructor watching a terminal');
    this.announce(learner);

    ws.on('message', guarded((data: RawData, isBinary: boolean) => {
      if (!frames.take().ok) return ws.close(CloseCode.RateLimited, 'too many messages');
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      // Input only while helping; otherwise it is dropped here and never reaches the shell.
      if (isBinary) return void (w.helping && this.opts.terminals.input(learner, bytes));
      const parsed = parseWatchClientMessage(bytes.toString('utf8'));
      if (!parsed.ok) return ws.close(CloseCode.BadMessage, 'bad message');
      const on = parsed.value.on;
      // Membership can end while a view is open: asked again before typing.
      if (on && (w.refused || !this.opts.canWatch(instructor.id, learner))) return send(ws, { t: 'help', on: false, endedByLearner: w.refused });
      if (w.helping === on) return;
      w.helping = on;
      send(ws, { t: 'help', on });
      this.announce(learner);
    }, this.opts.log, 'watch message', () => ws.close(1011, 'internal error')));
    ws.on('close', () => {
      set.delete(w);
      if (set.size === 0 && this.byLearner.get(learner) === set) this.byLearner.delete(learner);
      this.announce(learner);
    });
    ws.on('error', () => {});
  }

  /** A chunk of the learner's shell output (the terminal's tap). */
  output(learner: string, chunk: Buffer): void {
    const set = this.byLearner.get(learner);
    if (!set) return;
    for (const w of set) {
      if (w.ws.readyState !== WebSocket.OPEN) continue;
      if (w.ws.bufferedAmount > WATCHER_MAX_BACKLOG_BYTES) {
        w.ws.close(WATCHER_TOO_SLOW, 'too far behind; reopen the view');
        continue;
      }
      w.ws.send(chunk, { binary: true });
    }
  }

  /** The learner's terminal changed size: views follow, so full-screen programs line up. */
  resized(learner: string, cols: number, rows: number): void {
    for (const w of this.byLearner.get(learner) ?? []) send(w.ws, { t: 'resize', cols, rows });
  }

  /** The learner ended help: every view of theirs goes back to read-only, for good. */
  helpEnd(learner: string): void {
    for (const w of this.byLearner.get(learner) ?? []) {
      w.refused = true;
      if (!w.helping) continue;
      w.helping = false;
      send(w.ws, { t: 'help', on: false, endedByLearner: true });
    }
    this.announce(learner);
  }

  /** Who watches this learner now (a page that just said hello is told). */
  watchersMessage(learner: string): ServerMessage {
    const watchers = [...(this.byLearner.get(learner) ?? [])].slice(0, 100).map((w) => ({ name: w.instructor.name.slice(0, 200), helping: w.helping }));
    return { t: 'watchers', watchers };
  }

  private announce(learner: string): void {
    this.opts.terminals.tell(learner, this.watchersMessage(learner));
  }

  close(): void {
    for (const ws of this.wss.clients) ws.close(CloseCode.ServerShutdown, 'server shutting down');
    this.wss.close();
  }
}

function send(ws: WebSocket, msg: WatchServerMessage): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text.split(':')[0]}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}
