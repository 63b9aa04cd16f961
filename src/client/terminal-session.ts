/**
 * The terminal's connection to the learner's sandbox: owns the WebSocket.
 *
 * The xterm element (src/components/Terminal.astro) only renders; this module
 * fetches `/api/session` (which sets the learner cookie), opens the socket,
 * sends `hello` with the fitted size, forwards keystrokes and resizes, applies
 * server output with flow control, and reconnects with backoff after an
 * unexpected close. Everything it registers is collected in one list and
 * disposed together.
 */
import type { IDisposable, Terminal } from '@xterm/xterm';
import { ShellTracker, type ShellState } from './shell-state.ts';
import {
  CLIENT_HIGH_WATER_BYTES,
  CLIENT_LOW_WATER_BYTES,
  CloseCode,
  MAX_FRAME_BYTES,
  TERMINAL_PATH,
  parseServerMessage,
  type ClientMessage,
  type SandboxState,
  type ServerMessage,
  type StatusCode,
} from '../../sandbox-server/src/protocol.ts';

/** The server's state of every exercise of the page's lesson. */
export type ExercisesMessage = Extract<ServerMessage, { t: 'exercises' }>;
export type WatchersMessage = Extract<ServerMessage, { t: 'watchers' }>;

/** What the panel shows; mirrored on the elements as `data-state`. */
export type PanelState = SandboxState | 'connecting' | 'disconnected';

/** Why the session is not connected (the panel turns these into words). */
export type FailureReason =
  | 'no-server' // fetch of /api/session failed: nothing answering
  | 'session-http' // /api/session answered with an error status
  | 'socket' // the WebSocket closed without ever opening (refused upgrade)
  | 'closed' // an open socket closed unexpectedly
  | 'bad-message' // close code 4000
  | 'rate-limited' // close code 4029
  | 'shutdown' // close code 4012
  | 'sandbox-failed'; // close code 4011 or status failed

export interface SessionSnapshot {
  state: PanelState;
  /** Server-provided detail (progress step or failure reason), or the close reason. */
  message?: string;
  /** Why the server sent the last status; the panel shows its own words for it. */
  code?: StatusCode;
  reason?: FailureReason;
  httpStatus?: number;
  /** Epoch ms at which the idle timer stops the sandbox. */
  idleStopAt?: number;
  /** Epoch ms at which the sandbox reaches its maximum running time and stops. */
  maxAgeStopAt?: number;
  /** Waiting in line for a free sandbox: 1-based place, and the server's estimate in ms. */
  position?: number;
  waitMs?: number;
  /** While waiting to reconnect: which attempt is next and when (epoch ms). */
  reconnectAttempt?: number;
  reconnectAt?: number;
  /** Last `error` message from the server. */
  error?: string;
  learner?: string;
}

/** The part of xterm's Terminal the session uses (a fake in tests). */
export type SessionTerminal = Pick<
  Terminal,
  'cols' | 'rows' | 'write' | 'reset' | 'onData' | 'onBinary' | 'onResize'
> &
  Partial<Pick<Terminal, 'parser'>>;

export interface SessionOptions {
  sessionUrl?: string;
  socketUrl?: string;
  /** Give up after this many reconnect attempts in a row (then show Retry). */
  maxAttempts?: number;
  /** Delay before reconnect attempt `n` (1-based), in ms. */
  backoffMs?: (attempt: number) => number;
  fetch?: typeof fetch;
  WebSocket?: typeof WebSocket;
  /** The lesson folder the page shows (sent in `hello`: its exercises are checked live). */
  lesson?: string;
  /** The page's language (sent in `hello`: hints and feedback come in it). */
  lang?: 'ko' | 'en';
}

/** busy: the shell is not at its prompt (a program such as vim or `docker run -it` has the terminal). */
export type RunResult = 'sent' | 'queued' | 'busy';

/**
 * Sent before a Run button's command: Ctrl+E (end of line) and Ctrl+U (delete
 * to the start), as bash's readline binds them, so a half-typed line is cleared.
 */
export const CLEAR_LINE = '\x05\x15';

interface SessionResponse {
  learner?: unknown;
  sandbox?: { state?: unknown; idleStopAt?: unknown } | null;
}

const defaultBackoff = (attempt: number) =>
  Math.min(10_000, 500 * 2 ** (attempt - 1)) + Math.floor(Math.random() * 250);

export function defaultSocketUrl(loc: Location = window.location): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}${TERMINAL_PATH}`;
}

/** WebSocket.OPEN, without needing the global (tests pass their own WebSocket). */
const OPEN = 1;

const RESIZE_DEBOUNCE_MS = 60;

const clampDim = (n: number) => Math.max(2, Math.min(1000, Math.floor(n) || 2));

/** Cut bytes into frames below the server's frame limit. */
export function chunkBytes(bytes: Uint8Array, max = MAX_FRAME_BYTES / 2): Uint8Array[] {
  if (bytes.length <= max) return [bytes];
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += max) out.push(bytes.subarray(i, i + max));
  return out;
}

export class TerminalSession {
  readonly #term: SessionTerminal;
  readonly #opts: Required<Omit<SessionOptions, 'fetch' | 'WebSocket' | 'lesson' | 'lang'>> & {
    fetch: typeof fetch;
    WebSocket: typeof WebSocket;
    lesson?: string;
    lang?: 'ko' | 'en';
  };
  readonly #disposables: IDisposable[] = [];
  readonly #listeners = new Set<(s: SessionSnapshot) => void>();
  readonly #exerciseListeners = new Set<(m: ExercisesMessage) => void>();
  readonly #watcherListeners = new Set<(m: WatchersMessage) => void>();
  #exercises: ExercisesMessage | undefined;
  readonly #encoder = new TextEncoder();
  readonly #shell = new ShellTracker();
  /** Rewrites typed input before it is sent (the on-screen Ctrl key); identity by default. */
  inputFilter: (data: string) => string = (data) => data;

  #snapshot: SessionSnapshot = { state: 'connecting' };
  #ws: WebSocket | null = null;
  #generation = 0;
  #attempt = 0;
  #everOpened = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #resizeTimer: ReturnType<typeof setTimeout> | undefined;
  #disposed = false;
  /** Bytes handed to term.write whose callback has not fired yet. */
  #pendingBytes = 0;
  #paused = false;
  /** Replayed scrollback bytes still to come, and replay writes xterm has not parsed yet. */
  #replayLeft = 0;
  #replayParsing = 0;
  /** Commands from Run buttons waiting for the sandbox to be ready. */
  #queue: string[] = [];
  #resetOnOpen = false;

  constructor(term: SessionTerminal, options: SessionOptions = {}) {
    this.#term = term;
    this.#opts = {
      sessionUrl: options.sessionUrl ?? '/api/session',
      socketUrl: options.socketUrl ?? defaultSocketUrl(),
      maxAttempts: options.maxAttempts ?? 6,
      backoffMs: options.backoffMs ?? defaultBackoff,
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      WebSocket: options.WebSocket ?? globalThis.WebSocket,
      lesson: options.lesson,
      lang: options.lang,
    };
    this.#disposables.push(
      // While xterm parses replayed scrollback it answers the queries in it (busybox's
      // cursor position request, ESC[6n) as if they were new: those answers would be
      // typed into today's shell, so they are dropped.
      term.onData((data) => {
        if (this.#replayParsing === 0) this.#sendBytes(this.#encoder.encode(this.inputFilter(data)));
      }),
      // Binary events (some mouse reports) are one byte per char.
      term.onBinary((data) => {
        if (this.#replayParsing === 0) this.#sendBytes(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff));
      }),
      // Dragging the divider resizes many times a second: send only the last size.
      term.onResize(() => {
        clearTimeout(this.#resizeTimer);
        this.#resizeTimer = setTimeout(() => {
          this.#send({ t: 'resize', cols: clampDim(this.#term.cols), rows: clampDim(this.#term.rows) });
        }, RESIZE_DEBOUNCE_MS);
      }),
      { dispose: () => clearTimeout(this.#timer) },
      { dispose: () => clearTimeout(this.#resizeTimer) },
      { dispose: () => this.#closeSocket(1000, 'page closed') },
    );
    if (term.parser) this.#disposables.push(...this.#shell.attach(term.parser));
    if (typeof window !== 'undefined') {
      const online = () => {
        if (this.#snapshot.state === 'disconnected') this.retry();
      };
      window.addEventListener('online', online);
      this.#disposables.push({ dispose: () => window.removeEventListener('online', online) });
    }
  }

  /** Whether the shell is at its prompt, as its markers last said. */
  get shellState(): ShellState {
    return this.#shell.state;
  }

  get snapshot(): SessionSnapshot {
    return this.#snapshot;
  }

  /** Call `fn` now and on every change; dispose the result to stop. */
  subscribe(fn: (s: SessionSnapshot) => void): IDisposable {
    this.#listeners.add(fn);
    fn(this.#snapshot);
    return { dispose: () => this.#listeners.delete(fn) };
  }

  /** The last `exercises` message for this page's lesson, if any. */
  get exercises(): ExercisesMessage | undefined {
    return this.#exercises;
  }

  /** Call `fn` with every `exercises` message for this page's lesson (and the last one now). */
  onExercises(fn: (m: ExercisesMessage) => void): IDisposable {
    this.#exerciseListeners.add(fn);
    if (this.#exercises) fn(this.#exercises);
    return { dispose: () => this.#exerciseListeners.delete(fn) };
  }

  /** Call `fn` with every `watchers` message: who watches this terminal (classroom). */
  onWatchers(fn: (m: WatchersMessage) => void): IDisposable {
    this.#watcherListeners.add(fn);
    return { dispose: () => this.#watcherListeners.delete(fn) };
  }

  /** End (or refuse) an instructor's typing in this terminal; false when not connected. */
  endHelp(): boolean {
    return this.#sendControl({ t: 'help-end' });
  }

  /** Ask the server to check the lesson's exercises now; false when not connected. */
  check(): boolean {
    return this.#sendControl({ t: 'check' });
  }

  /** Ask for the next hint of `exercise`; the answer is an `exercises` message. */
  hint(exercise: string): boolean {
    return this.#sendControl({ t: 'hint', exercise });
  }

  /** Ask to reveal the solution of `exercise`; the answer is an `exercises` message. */
  solution(exercise: string): boolean {
    return this.#sendControl({ t: 'solution', exercise });
  }

  /** Send the answers to quiz `quiz` (per question, the chosen choice indexes); the answer is an `exercises` message. */
  quiz(quiz: string, answers: number[][]): boolean {
    return this.#sendControl({ t: 'quiz', quiz, answers });
  }

  start(): void {
    void this.#connect();
  }

  /** Connect again now (Retry / Start again buttons). */
  retry(): void {
    if (this.#disposed) return;
    this.#attempt = 0;
    void this.#connect();
  }

  /**
   * "Keep working": counts as activity for the idle timer without typing
   * anything (an empty binary frame). False when not connected.
   */
  keepAlive(): boolean {
    if (this.#disposed || this.#ws?.readyState !== OPEN || !this.#everOpened) return false;
    this.#ws.send(new Uint8Array(0));
    return true;
  }

  /** Throw the sandbox away and start a fresh one. */
  reset(): void {
    if (this.#disposed) return;
    this.#queue = [];
    if (this.#ws?.readyState === OPEN) {
      this.#send({ t: 'reset' });
      this.#term.reset();
      this.#shell.reset();
      this.#set({ state: 'creating', code: undefined, message: undefined, idleStopAt: undefined, reason: undefined, error: undefined });
    } else {
      this.#resetOnOpen = true;
      this.retry();
    }
  }

  /**
   * Clear the input line, type `command` and press Enter. If the sandbox is
   * not ready yet the command waits and runs once it is. When the shell is
   * busy (not at its prompt) nothing is typed: it would go to that program.
   */
  run(command: string): RunResult {
    const text = `${CLEAR_LINE}${command.replace(/\r?\n/g, '\r').replace(/\r+$/, '')}\r`;
    if (this.#snapshot.state === 'ready' && this.#ws?.readyState === OPEN) {
      if (this.#shell.state === 'busy') return 'busy';
      this.#sendBytes(this.#encoder.encode(text));
      // Without any marker seen (a shell without Berth's bashrc) there is nothing to wait for.
      if (this.#shell.state !== 'unknown') this.#shell.markBusy();
      return 'sent';
    }
    this.#queue.push(text);
    const s = this.#snapshot.state;
    if ((s === 'disconnected' && this.#snapshot.reconnectAt === undefined) || s === 'stopped') this.retry();
    return 'queued';
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#generation++;
    for (const d of this.#disposables.splice(0).reverse()) {
      try {
        d.dispose();
      } catch {
        /* keep disposing the rest */
      }
    }
    this.#listeners.clear();
    this.#exerciseListeners.clear();
  }

  // ---- internals ----

  #set(patch: Partial<SessionSnapshot>): void {
    const next: SessionSnapshot = { ...this.#snapshot, ...patch };
    for (const key of Object.keys(next) as (keyof SessionSnapshot)[]) {
      if (next[key] === undefined) delete next[key];
    }
    this.#snapshot = next;
    for (const fn of this.#listeners) fn(next);
  }

  #send(message: ClientMessage): void {
    if (this.#ws?.readyState === OPEN) this.#ws.send(JSON.stringify(message));
  }

  /** Send a control message only on a socket that said hello; true when sent. */
  #sendControl(message: ClientMessage): boolean {
    if (this.#disposed || this.#ws?.readyState !== OPEN || !this.#everOpened) return false;
    this.#ws.send(JSON.stringify(message));
    return true;
  }

  #sendBytes(bytes: Uint8Array): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== OPEN || bytes.length === 0) return;
    for (const chunk of chunkBytes(bytes)) ws.send(chunk);
  }

  #closeSocket(code: number, reason: string): void {
    const ws = this.#ws;
    this.#ws = null;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(code, reason);
    } catch {
      /* already closing */
    }
  }

  async #connect(): Promise<void> {
    if (this.#disposed) return;
    clearTimeout(this.#timer);
    this.#closeSocket(1000, 'reconnecting');
    const gen = ++this.#generation;
    this.#everOpened = false;
    this.#pendingBytes = 0;
    this.#paused = false;
    this.#replayLeft = 0;
    this.#set({
      state: 'connecting',
      reason: undefined,
      httpStatus: undefined,
      code: undefined,
      message: undefined,
      error: undefined,
      reconnectAt: undefined,
      reconnectAttempt: undefined,
    });

    // 1. The session request sets the HttpOnly learner cookie the upgrade needs.
    try {
      const res = await this.#opts.fetch(this.#opts.sessionUrl, {
        credentials: 'same-origin',
        headers: { accept: 'application/json' },
        cache: 'no-store',
      });
      if (gen !== this.#generation) return;
      if (!res.ok) {
        this.#lost({ reason: 'session-http', httpStatus: res.status });
        return;
      }
      const body = (await res.json().catch(() => ({}))) as SessionResponse;
      if (gen !== this.#generation) return;
      const idle = body.sandbox?.idleStopAt;
      this.#set({
        learner: typeof body.learner === 'string' ? body.learner : undefined,
        idleStopAt: typeof idle === 'number' ? idle : undefined,
      });
    } catch {
      if (gen === this.#generation) this.#lost({ reason: 'no-server' });
      return;
    }

    // 2. The terminal socket.
    let ws: WebSocket;
    try {
      ws = new this.#opts.WebSocket(this.#opts.socketUrl);
    } catch {
      this.#lost({ reason: 'socket' });
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    ws.onopen = () => {
      if (gen !== this.#generation) return;
      this.#everOpened = true;
      const { lesson, lang } = this.#opts;
      this.#send({
        t: 'hello',
        cols: clampDim(this.#term.cols),
        rows: clampDim(this.#term.rows),
        ...(lesson ? { lesson } : {}),
        ...(lang ? { lang } : {}),
      });
      if (this.#resetOnOpen) {
        this.#resetOnOpen = false;
        this.#send({ t: 'reset' });
        this.#term.reset();
        this.#shell.reset();
      }
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (gen !== this.#generation) return;
      if (typeof ev.data === 'string') this.#onControl(ev.data);
      else if (ev.data instanceof ArrayBuffer) this.#onOutput(new Uint8Array(ev.data), gen);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (gen !== this.#generation) return;
      this.#ws = null;
      this.#onClose(ev);
    };
  }

  #onControl(text: string): void {
    const parsed = parseServerMessage(text);
    if (!parsed.ok) {
      console.warn('[berth] ignoring a server message:', parsed.error);
      return;
    }
    const msg = parsed.value;
    switch (msg.t) {
      case 'status': {
        if (msg.state === 'ready') this.#attempt = 0;
        this.#set({
          state: msg.state,
          code: msg.code,
          message: msg.message,
          idleStopAt: msg.idleStopAt ?? (msg.state === 'ready' ? this.#snapshot.idleStopAt : undefined),
          maxAgeStopAt: msg.maxAgeStopAt ?? (msg.state === 'ready' ? this.#snapshot.maxAgeStopAt : undefined),
          position: msg.position,
          waitMs: msg.waitMs,
          reason: msg.state === 'failed' ? 'sandbox-failed' : undefined,
        });
        if (msg.state === 'ready') this.#flushQueue();
        break;
      }
      case 'replay':
        // The scrollback follows as binary frames: start from a clean screen
        // so a reconnect does not print everything twice.
        this.#term.reset();
        this.#shell.reset();
        this.#replayLeft = msg.bytes;
        break;
      case 'error':
        this.#set({ error: msg.message });
        break;
      case 'watchers':
        for (const fn of this.#watcherListeners) fn(msg);
        break;
      case 'exercises':
        if (msg.lesson !== this.#opts.lesson) return;
        this.#exercises = msg;
        for (const fn of this.#exerciseListeners) fn(msg);
        break;
    }
  }

  #flushQueue(): void {
    const queued = this.#queue.splice(0);
    for (const text of queued) this.#sendBytes(this.#encoder.encode(text));
  }

  /** Write output to xterm, asking the server to pause while xterm is behind. */
  #onOutput(bytes: Uint8Array, gen: number): void {
    const n = bytes.length;
    this.#pendingBytes += n;
    const replay = this.#replayLeft > 0;
    if (replay) {
      this.#replayLeft = Math.max(0, this.#replayLeft - n);
      this.#replayParsing++;
    }
    this.#term.write(bytes, () => {
      if (replay) this.#replayParsing--;
      if (gen !== this.#generation) return;
      this.#pendingBytes -= n;
      if (this.#paused && this.#pendingBytes < CLIENT_LOW_WATER_BYTES) {
        this.#paused = false;
        this.#send({ t: 'resume' });
      }
    });
    if (!this.#paused && this.#pendingBytes > CLIENT_HIGH_WATER_BYTES) {
      this.#paused = true;
      this.#send({ t: 'pause' });
    }
  }

  #onClose(ev: CloseEvent): void {
    const reason = ev.reason || undefined;
    switch (ev.code) {
      case CloseCode.BadMessage:
        this.#set({ state: 'disconnected', reason: 'bad-message', message: reason });
        return; // reconnecting would only repeat the mistake
      case CloseCode.SandboxFailed:
        this.#set({ state: 'failed', reason: 'sandbox-failed', message: reason ?? this.#snapshot.message });
        return;
    }
    const s = this.#snapshot.state;
    if (s === 'stopped' || (s === 'failed' && ev.code === 1000)) return; // the server said why already
    const cause: FailureReason =
      ev.code === CloseCode.RateLimited
        ? 'rate-limited'
        : ev.code === CloseCode.ServerShutdown
          ? 'shutdown'
          : this.#everOpened
            ? 'closed'
            : 'socket';
    this.#lost({ reason: cause, message: reason }, ev.code);
  }

  /** Not connected: schedule a reconnect, or give up and wait for Retry. */
  #lost(patch: Partial<SessionSnapshot>, code?: number): void {
    this.#attempt++;
    if (this.#attempt > this.#opts.maxAttempts) {
      this.#set({ state: 'disconnected', reconnectAt: undefined, reconnectAttempt: undefined, ...patch });
      return;
    }
    let delay = this.#opts.backoffMs(this.#attempt);
    if (code === CloseCode.RateLimited) delay = Math.max(delay, 5_000);
    if (code === CloseCode.ServerShutdown) delay = Math.max(delay, 2_000);
    this.#set({
      state: 'disconnected',
      reconnectAttempt: this.#attempt,
      reconnectAt: Date.now() + delay,
      ...patch,
    });
    this.#timer = setTimeout(() => void this.#connect(), delay);
  }
}
