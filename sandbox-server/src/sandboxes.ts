/**
 * Sandbox lifecycle, one per learner: create, start, wait until the nested engine
 * answers, attach terminals, stop when idle, resume, reset, and reconcile with
 * the engine at start. Every lifecycle step for a sandbox runs in that sandbox's
 * own queue, so a reset cannot interleave with a start.
 */
import type { ServerMessage, SandboxState, StatusCode } from './protocol.ts';
import type { SandboxRuntime } from './runtime/types.ts';
import type { Logger } from './log.ts';
import { shortHandle } from './log.ts';
import { RingBuffer } from './ring-buffer.ts';
import { waitForEngine } from './runtime/ready.ts';
import { Semaphore } from './semaphore.ts';
import { Terminal, type TerminalClient } from './terminal.ts';
import type { ExerciseChecker, ExerciseSubscriber } from './exercises/live.ts';

export interface SandboxClient extends TerminalClient, ExerciseSubscriber {
  readonly size: { cols: number; rows: number };
  sendMessage(msg: ServerMessage): void;
}

export interface ManagerOptions {
  runtime: SandboxRuntime;
  log: Logger;
  /** Whether a learner handle belongs to a known learner (unknown ones are orphans). */
  isKnownLearner: (handle: string) => boolean;
  idleTimeoutMs: number;
  startTimeoutMs: number;
  maxConcurrentStarts: number;
  scrollbackBytes: number;
  /** Live exercise checks; absent in setups without lessons. */
  checker?: ExerciseChecker;
}

type State = SandboxState | 'absent';

/** English text for each status code: logs, API clients, and pages without their own words. */
const STATUS_TEXT: Record<StatusCode, string> = {
  waiting: 'Waiting for a free slot',
  creating: 'Creating your sandbox',
  removing: 'Removing the old sandbox',
  'starting-engine': 'Starting your Docker engine',
  'idle-stopped': 'Stopped after being idle. Your files, images and containers are kept.',
  stopped: 'Your sandbox stopped. Reconnect to start it again.',
  'shell-loop': 'The shell keeps exiting right after it starts. Reset the sandbox to start fresh.',
  'start-failed': 'The sandbox could not be started.',
};

/** A shell that exits this soon after starting counts towards a restart loop. */
const QUICK_EXIT_MS = 2000;
const MAX_QUICK_EXITS = 3;
/** Idle deadlines are re-announced to pages only when they move this much. */
const IDLE_ANNOUNCE_STEP_MS = 30_000;

class Sandbox {
  state: State = 'absent';
  code: StatusCode | undefined;
  message: string | undefined;
  containerId: string | undefined;
  terminal: Terminal | undefined;
  /** Every attached page: all of them get status messages. */
  readonly clients = new Set<SandboxClient>();
  /** Pages that have had the scrollback and get live output (across shell restarts). */
  readonly live = new Set<SandboxClient>();
  readonly ring: RingBuffer;
  lastActivity = Date.now();
  announcedIdleStopAt = 0;
  quickExits = 0;
  private queue: Promise<void> = Promise.resolve();
  readonly learner: string;

  constructor(learner: string, scrollbackBytes: number) {
    this.learner = learner;
    this.ring = new RingBuffer(scrollbackBytes);
  }

  /** Resolves when every queued step has finished. */
  settled(): Promise<void> {
    return this.queue;
  }

  /** Runs `step` after every step queued before it. */
  enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.queue.then(step);
    this.queue = run.catch(() => {});
    return run;
  }
}

export class SandboxManager {
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly starts: Semaphore;
  private readonly opts: ManagerOptions;
  private readonly log: Logger;
  private sweepTimer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(opts: ManagerOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.starts = new Semaphore(opts.maxConcurrentStarts);
  }

  /** Adopts this instance's live sandboxes and removes orphans; then starts the idle sweep. */
  async reconcile(): Promise<{ adopted: number; removed: number; volumesRemoved: number }> {
    const { runtime } = this.opts;
    let adopted = 0;
    let removed = 0;
    let volumesRemoved = 0;
    const withContainer = new Set<string>();
    for (const s of await runtime.listSandboxes()) {
      const broken = !['running', 'exited', 'paused'].includes(s.engineState);
      if (!s.learner || !this.opts.isKnownLearner(s.learner) || broken) {
        this.log.info({ learner: shortHandle(s.learner), engineState: s.engineState }, 'removing orphaned sandbox');
        await runtime.destroy(s.learner);
        removed++;
        continue;
      }
      withContainer.add(s.learner);
      const sb = this.sandbox(s.learner);
      sb.containerId = s.id;
      // A running sandbox is verified (and its shell opened) when its learner attaches.
      sb.state = s.running ? 'starting' : 'stopped';
      adopted++;
    }
    for (const v of await runtime.listVolumes()) {
      if (withContainer.has(v.learner) || (v.learner && this.opts.isKnownLearner(v.learner))) continue;
      this.log.info({ volume: v.name }, 'removing orphaned sandbox volume');
      await runtime.removeVolume(v.name);
      volumesRemoved++;
    }
    this.startIdleSweep();
    return { adopted, removed, volumesRemoved };
  }

  status(learner: string): { state: State; code?: StatusCode; idleStopAt?: number; message?: string } {
    const sb = this.sandboxes.get(learner);
    if (!sb) return { state: 'absent' };
    return { state: sb.state, code: sb.code, message: sb.message, idleStopAt: sb.state === 'ready' ? this.idleStopAt(sb) : undefined };
  }

  clientCount(learner: string): number {
    return this.sandboxes.get(learner)?.clients.size ?? 0;
  }

  /** A page connected: show it the state, bring the sandbox up, then attach it to the shell. */
  attach(learner: string, client: SandboxClient): void {
    const sb = this.sandbox(learner);
    sb.clients.add(client);
    sb.lastActivity = Date.now();
    if (sb.state !== 'absent') client.sendMessage(this.statusMessage(sb));
    this.opts.checker?.subscribe(learner, client);
    void this.bringUp(sb);
  }

  detach(learner: string, client: SandboxClient): void {
    const sb = this.sandboxes.get(learner);
    if (!sb) return;
    sb.clients.delete(client);
    sb.live.delete(client);
    sb.terminal?.updateFlow();
    this.opts.checker?.unsubscribe(learner, client);
  }

  input(learner: string, data: Buffer): void {
    const sb = this.sandboxes.get(learner);
    if (!sb?.terminal) return;
    sb.terminal.write(data);
    sb.lastActivity = Date.now();
    if (this.idleStopAt(sb) - sb.announcedIdleStopAt > IDLE_ANNOUNCE_STEP_MS) this.broadcast(sb);
  }

  resize(learner: string, cols: number, rows: number): void {
    void this.sandboxes.get(learner)?.terminal?.resize(cols, rows);
  }

  /** Check button, hint and solution requests from a page. */
  exerciseRequest(
    learner: string,
    client: SandboxClient,
    request: { t: 'check' } | { t: 'hint'; exercise: string } | { t: 'solution'; exercise: string } | { t: 'quiz'; quiz: string; answers: number[][] },
  ): void {
    const checker = this.opts.checker;
    if (!checker) return;
    if (request.t === 'check') checker.trigger(learner, 'check');
    else if (request.t === 'hint') checker.hint(learner, client, request.exercise);
    else if (request.t === 'solution') checker.revealSolution(learner, client, request.exercise);
    else checker.answerQuiz(learner, client, request.quiz, request.answers);
  }

  /** A page paused or resumed its output; recompute the shell's flow. */
  flowChanged(learner: string): void {
    this.sandboxes.get(learner)?.terminal?.updateFlow();
  }

  /** Destroys the learner's sandbox and its data, then starts a fresh one for attached pages. */
  reset(learner: string): Promise<void> {
    const sb = this.sandbox(learner);
    this.log.info({ learner: shortHandle(learner) }, 'reset requested');
    return sb
      .enqueue(async () => {
        this.setState(sb, 'creating', 'removing');
        this.closeTerminal(sb);
        sb.ring.clear();
        sb.live.clear(); // pages get an empty replay: their screens clear
        await this.opts.runtime.destroy(learner);
        sb.containerId = undefined;
        sb.state = 'absent';
      })
      .then(() => this.bringUp(sb));
  }

  /** Stops sandboxes idle longer than the timeout; their data stays for the learner's return. */
  async stopIdle(now = Date.now()): Promise<number> {
    let stopped = 0;
    for (const sb of this.sandboxes.values()) {
      if (sb.state !== 'ready' || now < this.idleStopAt(sb)) continue;
      await sb.enqueue(async () => {
        if (sb.state !== 'ready' || !sb.containerId) return;
        this.log.info({ learner: shortHandle(sb.learner) }, 'stopping idle sandbox');
        this.setState(sb, 'stopping');
        this.closeTerminal(sb);
        await this.opts.runtime.stop(sb.containerId);
        this.setState(sb, 'stopped', 'idle-stopped');
        stopped++;
      });
    }
    return stopped;
  }

  /**
   * Stops timers, lets in-flight lifecycle steps finish (a start waiting for its
   * engine gives up), and closes shells. Sandboxes keep running for the next server.
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await Promise.all([...this.sandboxes.values()].map((sb) => sb.settled()));
    for (const sb of this.sandboxes.values()) {
      // Shells are left to the engine: a restarted server opens new ones.
      if (sb.terminal) {
        sb.terminal.close();
        sb.terminal = undefined;
      }
    }
  }

  private startIdleSweep(): void {
    if (this.sweepTimer) return;
    const every = Math.min(30_000, Math.max(1000, this.opts.idleTimeoutMs / 4));
    this.sweepTimer = setInterval(() => {
      this.stopIdle().catch((err: Error) => this.log.error({ err }, 'idle sweep failed'));
    }, every);
    this.sweepTimer.unref();
  }

  private sandbox(learner: string): Sandbox {
    let sb = this.sandboxes.get(learner);
    if (!sb) {
      sb = new Sandbox(learner, this.opts.scrollbackBytes);
      this.sandboxes.set(learner, sb);
    }
    return sb;
  }

  private idleStopAt(sb: Sandbox): number {
    return sb.lastActivity + this.opts.idleTimeoutMs;
  }

  private statusMessage(sb: Sandbox): ServerMessage {
    const state = sb.state === 'absent' ? 'creating' : sb.state;
    const msg: ServerMessage = { t: 'status', state };
    if (sb.code) msg.code = sb.code;
    if (sb.message) msg.message = sb.message;
    if (state === 'ready') {
      msg.idleStopAt = this.idleStopAt(sb);
      sb.announcedIdleStopAt = msg.idleStopAt;
    }
    return msg;
  }

  private setState(sb: Sandbox, state: State, code?: StatusCode, message?: string): void {
    sb.state = state;
    sb.code = code;
    sb.message = message ?? (code ? STATUS_TEXT[code] : undefined);
    this.broadcast(sb);
  }

  private broadcast(sb: Sandbox): void {
    const msg = this.statusMessage(sb);
    for (const c of sb.clients) c.sendMessage(msg);
  }

  /** Brings the sandbox to ready with a shell, and attaches every waiting client to it. */
  private bringUp(sb: Sandbox): Promise<void> {
    return sb
      .enqueue(async () => {
        if (this.closing) return;
        if (sb.clients.size === 0 && sb.state !== 'starting') return; // nobody waiting
        if (sb.state !== 'ready') await this.startSandbox(sb);
        if (!sb.terminal?.isOpen) await this.openTerminal(sb);
        // Ready only once a shell takes input, so nothing typed right away is lost.
        if (sb.state !== 'ready') this.setState(sb, 'ready');
        this.goLive(sb);
        this.opts.checker?.sandboxReady(sb.learner, sb.containerId!);
      })
      .catch((err: Error) => {
        this.log.error({ learner: shortHandle(sb.learner), err: err.message }, 'sandbox failed to start');
        this.setState(sb, 'failed', 'start-failed', err.message);
      });
  }

  private async startSandbox(sb: Sandbox): Promise<void> {
    const { runtime } = this.opts;
    const began = Date.now();
    if (this.starts.waiting > 0 || sb.state === 'absent') {
      this.setState(sb, 'creating', this.starts.waiting > 0 ? 'waiting' : 'creating');
    }
    await this.starts.acquire();
    try {
      let info = await runtime.find(sb.learner);
      if (!info) {
        this.setState(sb, 'creating', 'creating');
        info = await runtime.create(sb.learner);
      }
      sb.containerId = info.id;
      this.setState(sb, 'starting', 'starting-engine');
      if (!info.running) await runtime.start(info.id);
      await waitForEngine(runtime, info.id, sb.learner, this.opts.startTimeoutMs, () => this.closing);
      sb.quickExits = 0;
      sb.lastActivity = Date.now();
      this.log.info({ learner: shortHandle(sb.learner), ms: Date.now() - began }, 'sandbox engine ready');
    } finally {
      this.starts.release();
    }
  }

  private async openTerminal(sb: Sandbox): Promise<void> {
    const first = sb.clients.values().next().value;
    const size = first?.size ?? { cols: 80, rows: 24 };
    const shell = await this.opts.runtime.openShell(sb.containerId!, size.cols, size.rows);
    const checker = this.opts.checker;
    const terminal = new Terminal(shell, sb.ring, sb.live, () => this.onShellExit(sb, terminal), checker && (() => checker.trigger(sb.learner, 'prompt')));
    sb.terminal = terminal;
  }

  /** Ends the shell and the live checks that run while the sandbox is up. */
  private closeTerminal(sb: Sandbox): void {
    sb.terminal?.close();
    sb.terminal = undefined;
    this.opts.checker?.sandboxDown(sb.learner);
  }

  /** The shell ended: the learner typed `exit`, or the sandbox stopped under us. */
  private onShellExit(sb: Sandbox, terminal: Terminal): void {
    if (sb.terminal !== terminal) return;
    sb.terminal = undefined;
    void sb.enqueue(async () => {
      const info = await this.opts.runtime.find(sb.learner);
      if (!info?.running) {
        this.opts.checker?.sandboxDown(sb.learner);
        this.log.warn({ learner: shortHandle(sb.learner) }, 'sandbox stopped from outside');
        this.setState(sb, info ? 'stopped' : 'absent', 'stopped');
        if (!info) sb.containerId = undefined;
        return;
      }
      sb.quickExits = Date.now() - terminal.startedAt < QUICK_EXIT_MS ? sb.quickExits + 1 : 0;
      if (sb.quickExits >= MAX_QUICK_EXITS) {
        this.setState(sb, 'failed', 'shell-loop');
        return;
      }
      if (sb.clients.size === 0) return; // reopened on the next attach
      terminal.notice('The shell exited. Starting a new one.');
      await this.openTerminal(sb);
      this.goLive(sb);
    });
  }

  /** Sends the scrollback to pages that have not had it, then streams to them live. */
  private goLive(sb: Sandbox): void {
    for (const c of sb.clients) {
      if (sb.live.has(c)) continue;
      c.sendReplay(sb.ring.contents());
      sb.live.add(c);
    }
    sb.terminal?.updateFlow();
  }
}
