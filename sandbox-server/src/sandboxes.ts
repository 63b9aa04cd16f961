/**
 * Sandbox lifecycle, one per learner: create, start, wait until the nested engine
 * answers, attach terminals, stop when idle, resume, reset, and reconcile with
 * the engine at start. Every lifecycle step for a sandbox runs in that sandbox's
 * own queue, so a reset cannot interleave with a start.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { ServerMessage, SandboxState, StatusCode } from './protocol.ts';
import type { SandboxRuntime } from './runtime/types.ts';
import type { Logger } from './log.ts';
import { shortHandle } from './log.ts';
import { RingBuffer } from './ring-buffer.ts';
import type { ScrollbackStore } from './scrollback-store.ts';
import { waitForEngine } from './runtime/ready.ts';
import { Semaphore } from './semaphore.ts';
import { SlotQueue } from './capacity.ts';
import { handleOf, newLearnerId } from './identity.ts';
import { Terminal, type TerminalClient } from './terminal.ts';
import type { ExerciseChecker, ExerciseSubscriber } from './exercises/live.ts';
import { DiskBudget, type DiskAmount } from './disk-budget.ts';
import { ArrivalLog, autoPoolTarget } from './warm-pool.ts';
import { type Reservation, type ReservationState, Reservations, validateReservation } from './reservations.ts';

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
  /** Called with each successful start's duration in ms (metrics). */
  onStarted?: (ms: number) => void;
  /** Where scrollback is saved so a restarted server can replay it; absent: memory only. */
  scrollback?: ScrollbackStore;
  /** Every output chunk of a learner's shell (classroom watchers and recordings); must not throw. */
  onOutput?: (learner: string, chunk: Buffer) => void;
  /** A learner asked to be forgotten (their recordings go too). */
  onForget?: (learner: string) => void;
  /** Live exercise checks; absent in setups without lessons. */
  checker?: ExerciseChecker;
  /** Running sandboxes allowed at once; learners past it wait in line. Absent: no limit. */
  maxSandboxes?: number;
  /** Booted sandboxes kept for new learners (see claimWarm). Absent or 0: none. auto: sized from recent arrivals (warm-pool.ts). */
  warmPool?: number | 'auto';
  /** With warmPool auto: at most this many (default 8). */
  warmPoolMax?: number;
  /** The host's available memory in bytes (MemAvailable); with warmPool auto the pool grows only while it is above memoryReserveBytes. */
  availableMemory?: () => number | undefined;
  memoryReserveBytes?: number;
  /** With learners in line, a sandbox with no page attached gives up its slot after this long. */
  detachedGraceMs?: number;
  /** A running sandbox is stopped this long after it started. Absent: no limit. */
  maxAgeMs?: number;
  /** A stopped sandbox and its volume are deleted when its learner was last seen this long ago. */
  maxStoredAgeMs?: number;
  /** When a learner was last seen (epoch ms), for maxStoredAgeMs. */
  learnerLastSeen?: (handle: string) => number | undefined;
  /** A learner whose last page closed keeps their place in line this long (default 15 s: a reload keeps it). */
  lineKeepMs?: number;
  /** Resets of one sandbox are accepted at most this often (default 30 s): each is a destroy and a full create. */
  minResetIntervalMs?: number;
  /** The host disk's budget for stopped sandboxes and its free-space mark (disk-budget.ts); absent: none. */
  disk?: { stoppedBudget: DiskAmount; minFree: DiskAmount; intervalMs: number };
}

/** Why a reset request was not carried out (the page is told, and keeps its sandbox). */
export type ResetOutcome = { ok: true } | { ok: false; retryAfterMs: number };

type State = SandboxState | 'absent';

/** English text for each status code: logs, API clients, and pages without their own words. */
const STATUS_TEXT: Record<StatusCode, string> = {
  waiting: 'Waiting for a free slot',
  queued: 'Waiting in line for a free sandbox',
  creating: 'Creating your sandbox',
  removing: 'Removing the old sandbox',
  'starting-engine': 'Starting your Docker engine',
  'idle-stopped': 'Stopped after being idle. Your files, images and containers are kept.',
  'max-age-stopped': 'Stopped after reaching its maximum running time. Your files, images and containers are kept.',
  stopped: 'Your sandbox stopped. Reconnect to start it again.',
  'shell-loop': 'The shell keeps exiting right after it starts. Reset the sandbox to start fresh.',
  'start-failed': 'The sandbox could not be started.',
  'disk-full': 'The server is low on disk space, so no new sandbox can start for now. Your progress is kept.',
};

/** A stopped sandbox's record leaves memory this long after its last page closed. */
const FORGET_AFTER_MS = 10 * 60_000;
/** An empty "keep working" frame counts as activity at most this often. */
const KEEP_ALIVE_MIN_MS = 60_000;
/** At most one resize call to the engine per sandbox in this time (5 a second). */
const RESIZE_MIN_MS = 200;
/** Default minimum time between two resets of one sandbox. */
const MIN_RESET_INTERVAL_MS = 30_000;
/** How long after a shell exit the engine gets to report its container stopped, if it was. */
const SHELL_EXIT_SETTLE_MS = 500;
/** A shell that exits this soon after starting counts towards a restart loop. */
const QUICK_EXIT_MS = 2000;
const MAX_QUICK_EXITS = 3;
/** How often changed scrollback is written to disk (what a crash can lose). */
const SCROLLBACK_SAVE_MS = 2000;
/** Idle deadlines are re-announced to pages only when they move this much. */
const IDLE_ANNOUNCE_STEP_MS = 30_000;
/** Default for ManagerOptions.lineKeepMs. */
const LINE_KEEP_MS = 15_000;
/** A warm sandbox handed out with a cookie but never opened in a page is removed after this long. */
const UNUSED_CLAIM_MS = 60_000;
/**
 * With warmPool auto: the pool's size when nobody arrived lately (larger on a host
 * with room for a class: the first group that arrives together finds it booted),
 * and its default maximum.
 */
const AUTO_POOL_MIN = 2;
const AUTO_POOL_MIN_LARGE_HOST = 4;
const LARGE_HOST_SLOTS = 16;
const AUTO_POOL_MAX = 8;
/** After a warm-pool start fails, the pool waits this long before trying again. */
const POOL_RETRY_MS = 30_000;
/** While reservations exist, the pool looks this often whether one starts warming or ended. */
const RESERVATION_TICK_MS = 15_000;
/** removeFromPool: ordinary and reserved pool sandboxes alike. */
const ANY_POOL = Symbol('any pool sandbox');
/** One image pulled into a reserved sandbox (the catalog registry is local: seconds, even for a class). */
const RESERVED_PULL_TIMEOUT_MS = 180_000;
/** How often sandboxes past BERTH_SANDBOX_MAX_STORED_AGE are looked for. */
const STORED_SWEEP_MS = 3_600_000;

/** A learner left the line before their turn came. */
class LeftLine extends Error {}
/** The host is below its free-space mark and this learner has no data on it yet. */
class DiskFull extends Error {}

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
  /** The ring's version last written to the scrollback store. */
  savedVersion = 0;
  lastActivity = Date.now();
  announcedIdleStopAt = 0;
  /** When the engine last became ready (for the maximum age). */
  startedAt = 0;
  /** Since when no page is attached. */
  detachedAt = Date.now();
  /** Booted for the warm pool and not yet handed to a learner. */
  pooled = false;
  /** A pool sandbox booted for this reservation (its images pulled); only its learners get it. */
  reservedFor: string | undefined;
  /** Engine verified while nobody was attached (warm pool): the first attach only opens a shell. */
  engineReady = false;
  evicting = false;
  /** Claimed from the warm pool and no page has attached yet (a client that only fetched a cookie). */
  unusedClaimSince: number | undefined;
  lineKeepTimer: NodeJS.Timeout | undefined;
  /** Until when a learner whose page closed keeps their place (and a slot granted meanwhile). */
  lineKeepUntil = 0;
  quickExits = 0;
  /** The client address of the learner's latest page (per-address caps). */
  address: string | undefined;
  /** When an empty "keep working" frame last counted as activity. */
  lastKeepAliveAt = 0;
  /** The latest size a page asked for, the last one applied (and to which shell), and the pacing timer. */
  wantedSize: { cols: number; rows: number } | undefined;
  appliedSize: { cols: number; rows: number } | undefined;
  appliedTo: Terminal | undefined;
  resizeTimer: NodeJS.Timeout | undefined;
  /** A reset is queued or under way: further requests merge into it. */
  resetPending = false;
  /** When the last reset was accepted (epoch ms), for the minimum interval between resets. */
  lastResetAt = 0;
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
    this.pendingSteps++;
    const run = this.queue.then(step).finally(() => this.pendingSteps--);
    this.queue = run.catch(() => {});
    return run;
  }

  /** Lifecycle steps queued or running. */
  pendingSteps = 0;
}

export class SandboxManager {
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly starts: Semaphore;
  private readonly opts: ManagerOptions;
  private readonly log: Logger;
  private sweepTimer: NodeJS.Timeout | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private closing = false;
  /** Running slots and the line for them. */
  readonly slots: SlotQueue;
  /** Warm pool: learner handle -> raw learner id, held in memory only until claimed. */
  private readonly pool = new Map<string, string>();
  private poolFilling = false;
  /** New visitors (session requests), which size the pool with warmPool auto. */
  private readonly arrivals = new ArrivalLog();
  /** Starts for learners in flight: the pool waits for them, so it never competes with a learner for the CPU. */
  private learnerStarts = 0;
  /** Sandboxes being stopped to free a slot for the line. */
  private readonly lineStops = new Set<string>();
  private poolRetryAt = 0;
  /** Capacity booked ahead for classes (reservations.ts). */
  private readonly reservations = new Reservations();
  private reservationTimer: NodeJS.Timeout | undefined;
  private storedTimer: NodeJS.Timeout | undefined;
  private diskTimer: NodeJS.Timeout | undefined;
  /** The host disk's budget, when the runtime can measure it. */
  readonly disk: DiskBudget | undefined;

  constructor(opts: ManagerOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.starts = new Semaphore(opts.maxConcurrentStarts);
    this.slots = new SlotQueue(opts.maxSandboxes ?? Infinity, () => this.lineMoved());
    const { runtime, disk } = opts;
    if (disk && runtime.diskUsage) {
      this.disk = new DiskBudget({
        measure: () => runtime.diskUsage!(),
        isIdle: (learner) => this.isUnused(learner),
        lastSeen: (learner) => opts.learnerLastSeen?.(learner),
        evict: (learner) => this.deleteStored(learner, 'the stopped sandboxes\' disk budget is used up; least recently seen first'),
        stoppedBudget: disk.stoppedBudget,
        minFree: disk.minFree,
        onError: (err) => this.log.warn({ err: err.message }, 'cannot measure the engine host\'s disk'),
        onEvicted: (learner, bytes) => this.log.info({ learner: shortHandle(learner), bytes }, 'deleted stopped sandbox data over the disk budget'),
        onMeasured: (usage) => runtime.limitCaches?.(usage) ?? Promise.resolve(),
      });
    }
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
      if (s.running) {
        this.slots.adopt(s.learner); // may exceed the maximum until some stop
        sb.startedAt = Date.now();
      }
      adopted++;
    }
    /** Learners whose data stays: their scrollback stays too. */
    const kept = new Set(withContainer);
    for (const v of await runtime.listVolumes()) {
      if (withContainer.has(v.learner) || (v.learner && this.opts.isKnownLearner(v.learner))) {
        kept.add(v.learner);
        continue;
      }
      this.log.info({ volume: v.name }, 'removing orphaned sandbox volume');
      await runtime.removeVolume(v.name);
      volumesRemoved++;
    }
    this.opts.scrollback?.prune(kept);
    this.startIdleSweep();
    this.startStoredSweep();
    this.startDiskChecks();
    this.fillPool();
    return { adopted, removed, volumesRemoved };
  }

  status(learner: string): { state: State; code?: StatusCode; idleStopAt?: number; message?: string } {
    const sb = this.sandboxes.get(learner);
    if (!sb) return { state: 'absent' };
    return { state: sb.state, code: sb.code, message: sb.message, idleStopAt: sb.state === 'ready' ? this.idleStopAt(sb) : undefined };
  }

  /** How many sandboxes are in each state (metrics read this at scrape time). */
  countsByState(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const sb of this.sandboxes.values()) counts[sb.state] = (counts[sb.state] ?? 0) + 1;
    return counts;
  }

  /** Learners waiting in line for a running slot (metrics). */
  queueLength(): number {
    return this.slots.waiting;
  }

  /**
   * Sandboxes holding or waiting for a running slot whose learner last connected from
   * `address`, `learner`'s own left out: cookies are free, slots are not.
   */
  activeFromAddress(address: string, learner: string): number {
    let n = 0;
    for (const sb of this.sandboxes.values()) {
      if (sb.learner !== learner && sb.address === address && this.isActive(sb.learner)) n++;
    }
    return n;
  }

  /** Whether the learner's sandbox holds or waits for a running slot already. */
  isActive(learner: string): boolean {
    return this.slots.holds(learner) || this.slots.position(learner) > 0;
  }

  /** A page connected (from `address`): show it the state, bring the sandbox up, then attach it to the shell. */
  attach(learner: string, client: SandboxClient, address?: string): void {
    const sb = this.sandbox(learner);
    if (address !== undefined) sb.address = address;
    sb.clients.add(client);
    sb.lastActivity = Date.now();
    sb.unusedClaimSince = undefined;
    clearTimeout(sb.lineKeepTimer);
    sb.lineKeepUntil = 0;
    // Progress shows at once; "ready" only once the bring-up below has confirmed it
    // (the sandbox may have been stopped from outside since).
    if (sb.state !== 'absent' && sb.state !== 'ready') client.sendMessage(this.statusMessage(sb));
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
    if (sb.clients.size === 0) {
      sb.detachedAt = Date.now();
      if (this.slots.position(learner) > 0) {
        const keepMs = this.opts.lineKeepMs ?? LINE_KEEP_MS;
        sb.lineKeepUntil = Date.now() + keepMs;
        clearTimeout(sb.lineKeepTimer);
        sb.lineKeepTimer = setTimeout(() => {
          if (sb.clients.size === 0) this.slots.cancel(learner);
        }, keepMs);
        sb.lineKeepTimer.unref();
      }
    }
  }

  /** What a page attaching now would be replayed, and the shell's size (a watcher's view). */
  screen(learner: string): { scrollback: Buffer; cols: number; rows: number } | undefined {
    const sb = this.sandboxes.get(learner);
    if (!sb) return undefined;
    // A shell never resized has the size of the page it opened for.
    const size = sb.appliedSize ?? sb.wantedSize ?? sb.clients.values().next().value?.size ?? { cols: 80, rows: 24 };
    return { scrollback: sb.ring.contents(), ...size };
  }

  /** A control message to every page of the learner (e.g. who is watching). */
  tell(learner: string, msg: ServerMessage): void {
    for (const c of this.sandboxes.get(learner)?.clients ?? []) c.sendMessage(msg);
  }

  input(learner: string, data: Buffer): void {
    const sb = this.sandboxes.get(learner);
    if (!sb?.terminal) return;
    const now = Date.now();
    if (data.length > 0) sb.terminal.write(data);
    else {
      // Empty: "keep working", activity only; a script sending them cannot hold a slot all day
      // for free: one counts per KEEP_ALIVE_MIN_MS (the page sends one per click).
      if (now - sb.lastKeepAliveAt < KEEP_ALIVE_MIN_MS) return;
      sb.lastKeepAliveAt = now;
    }
    sb.lastActivity = now;
    // Short timeouts re-announce sooner, so a "keep working" always reaches the page.
    if (this.idleStopAt(sb) - sb.announcedIdleStopAt > Math.min(IDLE_ANNOUNCE_STEP_MS, this.opts.idleTimeoutMs / 4)) this.broadcast(sb);
  }

  /**
   * A page's terminal changed size. Each resize is a call to the engine, and a page
   * (or a script) can send hundreds a second: only the latest size is applied, at
   * most every RESIZE_MIN_MS, and an unchanged size not at all.
   */
  resize(learner: string, cols: number, rows: number): void {
    const sb = this.sandboxes.get(learner);
    if (!sb) return;
    sb.wantedSize = { cols, rows };
    if (sb.resizeTimer) return;
    const apply = () => {
      sb.resizeTimer = undefined;
      const want = sb.wantedSize;
      if (!want || !sb.terminal) return;
      if (sb.appliedSize?.cols === want.cols && sb.appliedSize.rows === want.rows && sb.appliedTo === sb.terminal) return;
      sb.appliedSize = want;
      sb.appliedTo = sb.terminal;
      this.resizeCalls++;
      void sb.terminal.resize(want.cols, want.rows);
      // Sizes that arrive in the next moment wait for it, then the latest one is applied.
      sb.resizeTimer = setTimeout(apply, RESIZE_MIN_MS);
      sb.resizeTimer.unref();
    };
    apply();
  }

  /** Resize calls made to the engine so far (tests and metrics). */
  resizeCalls = 0;

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

  /**
   * A page asked for a reset. One destroys the sandbox and creates a fresh one (the
   * costliest thing a learner can ask for), so requests merge while one is pending,
   * and one is accepted per minimum interval; `budget` spends the per-address
   * sandbox allowance (a reset is a new sandbox) and returns its wait when empty.
   * A refused page gets its screen and state back, with the wait.
   */
  requestReset(learner: string, client: SandboxClient, budget: () => number | undefined = () => undefined): ResetOutcome {
    const sb = this.sandbox(learner);
    if (sb.resetPending) return { ok: true }; // the page already shows the reset under way
    const intervalLeft = sb.lastResetAt + (this.opts.minResetIntervalMs ?? MIN_RESET_INTERVAL_MS) - Date.now();
    const retryAfterMs = intervalLeft > 0 ? intervalLeft : budget();
    if (retryAfterMs === undefined) {
      void this.reset(learner);
      return { ok: true };
    }
    this.log.info({ learner: shortHandle(learner), retryAfterMs }, 'reset refused: too soon');
    // The page cleared its screen when it asked: give it back what it had.
    client.sendReplay(sb.ring.contents());
    client.sendMessage(this.statusMessage(sb));
    return { ok: false, retryAfterMs };
  }

  /** Destroys the learner's sandbox and its data, then starts a fresh one for attached pages. */
  reset(learner: string): Promise<void> {
    const sb = this.sandbox(learner);
    this.log.info({ learner: shortHandle(learner) }, 'reset requested');
    sb.resetPending = true;
    sb.lastResetAt = Date.now();
    return sb
      .enqueue(async () => {
        this.setState(sb, 'creating', 'removing');
        this.closeTerminal(sb);
        sb.ring.clear();
        sb.live.clear(); // pages get an empty replay: their screens clear
        await this.opts.runtime.destroy(learner);
        sb.containerId = undefined;
        sb.state = 'absent';
        sb.engineReady = false; // the learner keeps their running slot across a reset
      })
      .then(() => this.bringUp(sb))
      .finally(() => (sb.resetPending = false));
  }

  /**
   * Stops the learner's running sandbox, data kept (their class ended): pages see it
   * stopped and can start it again.
   */
  stop(learner: string): Promise<void> {
    const sb = this.sandboxes.get(learner);
    if (!sb) return Promise.resolve();
    return sb.enqueue(async () => {
      if (!sb.containerId || (sb.state !== 'ready' && sb.state !== 'starting')) return;
      this.log.info({ learner: shortHandle(learner) }, 'stopping sandbox: its class ended');
      await this.stopAndRelease(sb, sb.containerId, 'stopped');
    });
  }

  /**
   * "Forget me": the learner's sandbox, its data volume and saved scrollback are
   * deleted. Pages still open see it stopped; their cookie is gone, so they cannot
   * connect again as this learner.
   */
  forget(learner: string): Promise<void> {
    const sb = this.sandbox(learner);
    this.log.info({ learner: shortHandle(learner) }, 'learner asked to be forgotten');
    this.opts.onForget?.(learner);
    return sb.enqueue(async () => {
      this.closeTerminal(sb);
      sb.ring.clear();
      sb.live.clear();
      this.setState(sb, 'stopped', 'stopped');
      await this.opts.runtime.destroy(learner);
      this.opts.scrollback?.save(learner, Buffer.alloc(0));
      sb.containerId = undefined;
      sb.state = 'absent';
      sb.engineReady = false;
      this.slots.release(learner);
      if (sb.clients.size === 0) this.sandboxes.delete(learner);
    });
  }

  /**
   * Stops running sandboxes that are idle, past their maximum age, or (while
   * learners wait in line) without a page for the detached grace. Data stays
   * for the learner's return; each stop frees a slot for the line.
   */
  async stopIdle(now = Date.now()): Promise<number> {
    let stopped = 0;
    const due = [...this.sandboxes.values()].filter((sb) => this.stopReason(sb, now));
    // In parallel: one sandbox's queue (a start) must not hold up the others' stops.
    const forLine = this.stopForLine(now, due.length);
    await Promise.all(
      due.map((sb) =>
        sb.enqueue(async () => {
          const why = this.stopReason(sb, now);
          if (!why || !sb.containerId) return;
          this.log.info({ learner: shortHandle(sb.learner), why }, 'stopping sandbox');
          await this.stopAndRelease(sb, sb.containerId, why);
          stopped++;
        }),
      ),
    );
    stopped += await forLine;
    await this.removeUnusedClaims(now);
    return stopped;
  }

  /**
   * While learners wait in line, stops sandboxes whose page has been gone for the
   * detached grace, the longest-detached first and only as many as the line needs
   * beyond the slots already being freed (`freeing`, the pool's booted sandboxes,
   * other stops for the line in flight). Run at every sweep and whenever the line
   * grows, so a learner arriving on a full host waits seconds, not a whole grace.
   */
  private async stopForLine(now: number, freeing = 0): Promise<number> {
    const grace = this.opts.detachedGraceMs;
    if (grace === undefined || this.slots.waiting === 0) return 0;
    const poolReady = [...this.pool.keys()].filter((h) => this.sandboxes.get(h)?.engineReady).length;
    const need = this.slots.waiting - freeing - poolReady - this.lineStops.size;
    if (need <= 0) return 0;
    const chosen = [...this.sandboxes.values()]
      .filter((sb) => !this.lineStops.has(sb.learner) && this.mayStopForLine(sb, now))
      .sort((a, b) => a.detachedAt - b.detachedAt)
      .slice(0, need);
    let stopped = 0;
    await Promise.all(
      chosen.map((sb) => {
        this.lineStops.add(sb.learner);
        return sb
          .enqueue(async () => {
            if (!this.mayStopForLine(sb, now) || !sb.containerId) return;
            this.log.info({ learner: shortHandle(sb.learner), detachedMs: Date.now() - sb.detachedAt, waiting: this.slots.waiting }, 'stopping a sandbox with no page for a learner in line');
            await this.stopAndRelease(sb, sb.containerId, 'idle-stopped');
            stopped++;
          })
          .finally(() => this.lineStops.delete(sb.learner));
      }),
    );
    return stopped;
  }

  /** Stops a running sandbox (data kept) and gives its slot back once the engine has stopped it. */
  private async stopAndRelease(sb: Sandbox, containerId: string, why: StatusCode): Promise<void> {
    this.setState(sb, 'stopping');
    this.closeTerminal(sb);
    await this.opts.runtime.stop(containerId);
    this.slots.release(sb.learner);
    this.setState(sb, 'stopped', why);
  }

  /** A running sandbox that holds a slot and has had no page for the detached grace. */
  private mayStopForLine(sb: Sandbox, now: number): boolean {
    if (sb.pooled || sb.clients.size > 0 || !this.slots.holds(sb.learner) || this.slots.waiting === 0) return false;
    if (sb.state !== 'ready' && sb.state !== 'failed' && sb.state !== 'starting') return false;
    return now >= sb.detachedAt + (this.opts.detachedGraceMs ?? Infinity);
  }

  /**
   * A cookie fetched without ever opening a terminal (a crawler, a script) must not
   * hold a warm sandbox for the whole idle timeout: it is removed (it holds nothing
   * yet), and the learner gets an ordinary start if they do come.
   */
  private async removeUnusedClaims(now: number): Promise<void> {
    const unused = [...this.sandboxes.values()].filter((sb) => sb.unusedClaimSince !== undefined && now - sb.unusedClaimSince >= UNUSED_CLAIM_MS);
    await Promise.all(
      unused.map((sb) =>
        sb.enqueue(async () => {
          if (sb.unusedClaimSince === undefined || sb.clients.size > 0) return;
          this.log.info({ learner: shortHandle(sb.learner) }, 'removing a warm sandbox no page opened');
          sb.unusedClaimSince = undefined;
          this.closeTerminal(sb);
          await this.opts.runtime.destroy(sb.learner);
          sb.containerId = undefined;
          sb.state = 'absent';
          sb.engineReady = false;
          this.slots.release(sb.learner);
        }),
      ),
    );
  }

  /** Why a sandbox should stop now, if it should. */
  private stopReason(sb: Sandbox, now: number): StatusCode | undefined {
    if (sb.pooled || !this.slots.holds(sb.learner)) return undefined;
    const running = sb.state === 'ready' || sb.state === 'failed' || (sb.state === 'starting' && sb.clients.size === 0);
    if (!running) return undefined;
    const maxAgeAt = this.maxAgeStopAt(sb);
    if (maxAgeAt !== undefined && now >= maxAgeAt) return 'max-age-stopped';
    if (now >= this.idleStopAt(sb)) return 'idle-stopped';
    return undefined; // stops for the line: stopForLine
  }

  /**
   * Deletes stopped sandboxes and data volumes of learners not seen for the
   * maximum stored age. Progress in the store is kept.
   */
  async removeExpired(now = Date.now()): Promise<number> {
    const { maxStoredAgeMs: maxAge, learnerLastSeen: lastSeen } = this.opts;
    if (!maxAge || !lastSeen) return 0;
    const { runtime } = this.opts;
    const learners = new Set([...(await runtime.listSandboxes()).map((s) => s.learner), ...(await runtime.listVolumes()).map((v) => v.learner)]);
    let removed = 0;
    for (const learner of learners) {
      const seen = learner ? lastSeen(learner) : undefined;
      if (seen === undefined || now - seen < maxAge || this.pool.has(learner)) continue; // unknown ones are reconcile's
      if (await this.deleteStored(learner, 'past its maximum stored age', { lastSeen: new Date(seen).toISOString() })) removed++;
    }
    return removed;
  }

  /** Whether nothing uses the learner's sandbox now (stopped or absent, no page, no slot, not pooled). */
  private isUnused(learner: string): boolean {
    const sb = this.sandboxes.get(learner);
    if (this.pool.has(learner) || this.isActive(learner)) return false;
    return !sb || (sb.clients.size === 0 && (sb.state === 'stopped' || sb.state === 'absent' || sb.state === 'failed'));
  }

  /** Deletes a learner's unused sandbox and its data (progress stays); false if it was in use after all. */
  private async deleteStored(learner: string, why: string, extra: Record<string, unknown> = {}): Promise<boolean> {
    const sb = this.sandbox(learner);
    let deleted = false;
    await sb.enqueue(async () => {
      if (sb.clients.size > 0 || this.slots.holds(learner)) return; // in use after all
      const info = await this.opts.runtime.find(learner);
      if (info?.running) return;
      this.log.info({ learner: shortHandle(learner), ...extra }, `deleting sandbox data: ${why}`);
      await this.opts.runtime.destroy(learner);
      sb.containerId = undefined;
      sb.state = 'absent';
      sb.ring.clear();
      this.sandboxes.delete(learner);
      deleted = true;
    });
    return deleted;
  }

  private startDiskChecks(): void {
    const disk = this.disk;
    if (!disk || this.diskTimer) return;
    void disk.check();
    this.diskTimer = setInterval(() => void disk.check(), this.opts.disk!.intervalMs);
    this.diskTimer.unref();
  }

  /**
   * Hands a booted warm-pool sandbox to a new visitor: returns the raw learner
   * id to put in their cookie (its sandbox is already labelled with its handle),
   * or undefined when none is ready. The pool then refills in the background.
   * A learner of a reservation (`reservation`: its id) gets one of its sandboxes
   * first; nobody else gets a reserved one.
   */
  claimWarm(reservation?: string): string | undefined {
    const now = Date.now();
    this.arrivals.record(now);
    if (reservation !== undefined) this.reservations.recordClaim(reservation, now);
    const pick = (wanted: string | undefined): string | undefined => {
      for (const [handle, id] of this.pool) {
        const sb = this.sandboxes.get(handle);
        if (!sb?.engineReady || sb.evicting || sb.reservedFor !== wanted) continue;
        this.pool.delete(handle);
        sb.pooled = false;
        sb.reservedFor = undefined;
        sb.lastActivity = sb.detachedAt = sb.startedAt = sb.unusedClaimSince = now;
        this.log.info({ learner: shortHandle(handle), reservation: wanted }, 'warm sandbox claimed');
        return id;
      }
      return undefined;
    };
    const id = (reservation !== undefined ? pick(reservation) : undefined) ?? pick(undefined);
    this.fillPool();
    return id;
  }

  /** Warm-pool sandboxes: booted, and booted-and-unclaimed (reserved ones included). */
  poolSize(): { total: number; ready: number } {
    let ready = 0;
    for (const handle of this.pool.keys()) if (this.sandboxes.get(handle)?.engineReady) ready++;
    return { total: this.pool.size, ready };
  }

  /** How many unreserved sandboxes the pool should hold now. */
  poolTarget(): number {
    const setting = this.opts.warmPool ?? 0;
    if (setting !== 'auto') return setting;
    const available = this.opts.availableMemory?.();
    const memory = available === undefined ? undefined : { availableBytes: available, reserveBytes: this.opts.memoryReserveBytes ?? 0, poolSize: this.pool.size };
    const max = this.opts.warmPoolMax ?? AUTO_POOL_MAX;
    const min = Math.min(max, this.slots.max >= LARGE_HOST_SLOTS ? AUTO_POOL_MIN_LARGE_HOST : AUTO_POOL_MIN);
    return autoPoolTarget(this.arrivals.peak(Date.now()), { min, max }, memory);
  }

  /**
   * Books sandboxes ahead for a class (reservations.ts): from shortly before
   * `startsAt` the pool boots `count` of them with `images` pulled, for the
   * reservation's own learners (claimWarm(id)). Throws a message on bad input.
   */
  reserve(r: Reservation): ReservationState {
    const problem = this.reservationProblem(r);
    if (problem) throw new Error(problem);
    this.reservations.set(r);
    this.reservationTimer ??= setInterval(() => this.fillPool(), RESERVATION_TICK_MS);
    this.reservationTimer.unref();
    this.log.info({ reservation: r.id, count: r.count, startsAt: new Date(r.startsAt).toISOString(), images: r.images.length }, 'capacity reserved');
    this.fillPool();
    return this.reservations.get(r.id)!;
  }

  /** Why a reservation cannot be taken, or undefined. */
  reservationProblem(r: Reservation): string | undefined {
    return validateReservation(r, Date.now(), this.slots.max);
  }

  /** What the host has left: running slots (the line's too) and, where known, memory. */
  headroom(): { slotsMax: number; slotsUsed: number; waiting: number; availableMemoryBytes?: number } {
    const available = this.opts.availableMemory?.();
    return { slotsMax: this.slots.max, slotsUsed: this.slots.running, waiting: this.slots.waiting, ...(available === undefined ? {} : { availableMemoryBytes: available }) };
  }

  /** Cancels a reservation; its unclaimed sandboxes are removed. */
  cancelReservation(id: string): boolean {
    const had = this.reservations.cancel(id);
    if (had) this.dropReserved(id);
    return had;
  }

  /** A reservation and its sandboxes now: booted and ready for its learners, still booting. */
  reservation(id: string): (ReservationState & { ready: number; booting: number }) | undefined {
    const r = this.reservations.get(id);
    if (!r) return undefined;
    let ready = 0;
    let booting = 0;
    for (const handle of this.pool.keys()) {
      const sb = this.sandboxes.get(handle);
      if (sb?.reservedFor !== id) continue;
      if (sb.engineReady) ready++;
      else booting++;
    }
    return { ...r, images: [...r.images], ready, booting };
  }

  /** Pool sandboxes booted (or booting) for reservation `id`. */
  private pooledFor(id: string | undefined): number {
    let n = 0;
    for (const handle of this.pool.keys()) if (this.sandboxes.get(handle)?.reservedFor === id) n++;
    return n;
  }

  /**
   * Ends reservations whose window is over (their unclaimed sandboxes go). A
   * reservation's sandboxes are not trimmed before that: a learner of it who
   * got an ordinary sandbox leaves one reserved sandbox spare, and removing it
   * would only make the ordinary pool boot another.
   */
  private settleReservations(now: number): void {
    for (const id of this.reservations.prune(now)) this.dropReserved(id);
    if (this.reservations.size === 0 && this.reservationTimer) {
      clearInterval(this.reservationTimer);
      this.reservationTimer = undefined;
    }
  }

  private dropReserved(id: string): void {
    const n = this.pooledFor(id);
    if (n > 0) this.removeFromPool(n, id);
  }

  /**
   * Boots one pool sandbox at a time while a slot is free, nobody waits and no
   * learner's start is in flight: first for a reservation that is short, then the
   * ordinary pool.
   */
  private fillPool(): void {
    if (this.closing || this.poolFilling || this.learnerStarts > 0 || Date.now() < this.poolRetryAt) return;
    const now = Date.now();
    this.settleReservations(now);
    const reservation = this.reservations.nextToFill(now, (id) => this.pooledFor(id));
    if (!reservation) {
      const target = this.poolTarget();
      const unreserved = this.pooledFor(undefined);
      if (unreserved > target) return this.removeFromPool(unreserved - target, undefined); // arrivals calmed down
      if (unreserved >= target) return;
    }
    const id = newLearnerId();
    const handle = handleOf(id);
    if (!this.slots.tryAcquire(handle)) return; // no free slot, or a line: real learners first
    this.poolFilling = true;
    this.pool.set(handle, id);
    const sb = this.sandbox(handle);
    sb.pooled = true;
    sb.reservedFor = reservation?.id;
    sb
      .enqueue(async () => {
        await this.startSandbox(sb);
        if (reservation) await this.pullImages(sb, reservation.images);
        sb.state = 'starting'; // running and verified; the first attach opens the shell
        sb.code = undefined;
        sb.engineReady = true;
      })
      .catch(async (err: Error) => {
        if (this.closing) return; // reconcile removes it at the next start
        this.log.warn({ err: err.message }, 'warm pool sandbox failed to start');
        this.poolRetryAt = Date.now() + POOL_RETRY_MS;
        this.pool.delete(handle);
        this.sandboxes.delete(handle);
        await this.opts.runtime.destroy(handle).catch(() => {});
        this.slots.release(handle);
      })
      .finally(() => {
        this.poolFilling = false;
        if (this.slots.waiting > 0) this.evictPool();
        else this.fillPool();
      });
  }

  /**
   * Pulls a reservation's images into its sandbox, as the learner would with
   * `docker pull`. A failed pull is logged and skipped: the learner can still
   * pull it, and the sandbox is still worth having booted.
   */
  private async pullImages(sb: Sandbox, images: readonly string[]): Promise<void> {
    for (const image of images) {
      const began = Date.now();
      const r = await this.opts.runtime.exec(sb.containerId!, ['docker', 'pull', '--quiet', image], RESERVED_PULL_TIMEOUT_MS);
      if (r.exitCode === 0) this.log.info({ learner: shortHandle(sb.learner), image, ms: Date.now() - began }, 'pulled an image into a reserved sandbox');
      else this.log.warn({ learner: shortHandle(sb.learner), image, err: (r.stderr || r.stdout).trim().slice(0, 300), timedOut: r.timedOut }, 'could not pull an image into a reserved sandbox');
    }
  }

  /** Destroys unclaimed pool sandboxes to give their slots to learners in line: ordinary ones first, then reserved ones. */
  private evictPool(): void {
    const unreserved = Math.min(this.slots.waiting, this.pooledFor(undefined));
    this.removeFromPool(unreserved, undefined);
    if (this.slots.waiting > unreserved) this.removeFromPool(this.slots.waiting - unreserved, ANY_POOL);
  }

  /**
   * Destroys up to `count` booted, unclaimed pool sandboxes (their slots go back):
   * of one reservation (`which`: its id), of the ordinary pool (undefined), or any.
   */
  private removeFromPool(count: number, which: string | undefined | typeof ANY_POOL): void {
    let need = count;
    for (const handle of this.pool.keys()) {
      if (need <= 0) return;
      const sb = this.sandboxes.get(handle);
      if (!sb?.engineReady || sb.evicting) continue;
      if (which !== ANY_POOL && sb.reservedFor !== which) continue;
      need--;
      sb.evicting = true;
      sb.enqueue(async () => {
        if (!sb.pooled) return; // claimed meanwhile
        this.pool.delete(handle);
        await this.opts.runtime.destroy(handle);
        this.sandboxes.delete(handle);
        this.slots.release(handle);
      }).catch((err: Error) => this.log.warn({ err: err.message }, 'could not remove a warm pool sandbox'));
    }
  }

  /** The line changed: tell everyone in it their new place, and make room from the pool. */
  private lineMoved(): void {
    for (const sb of this.sandboxes.values()) if (sb.code === 'queued') this.broadcast(sb);
    if (this.slots.waiting > 0) {
      this.evictPool();
      this.stopForLine(Date.now()).catch((err: Error) => this.log.error({ err }, 'could not free a slot for the line'));
    } else this.fillPool();
  }

  /**
   * Stops timers, lets in-flight lifecycle steps finish (a start waiting for its
   * engine gives up), and closes shells. Sandboxes keep running for the next server.
   */
  async shutdown(): Promise<void> {
    this.closing = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    if (this.storedTimer) clearInterval(this.storedTimer);
    if (this.diskTimer) clearInterval(this.diskTimer);
    if (this.reservationTimer) clearInterval(this.reservationTimer);
    await this.disk?.stop(); // its helper container and its store reads finish first
    for (const sb of this.sandboxes.values()) {
      clearTimeout(sb.lineKeepTimer);
      this.slots.cancel(sb.learner); // starts waiting in line give up
    }
    if (this.saveTimer) clearInterval(this.saveTimer);
    await Promise.all([...this.sandboxes.values()].map((sb) => sb.settled()));
    this.saveScrollback();
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
    const limits = [this.opts.idleTimeoutMs, this.opts.detachedGraceMs, this.opts.maxAgeMs].filter((ms) => ms !== undefined);
    const every = Math.min(30_000, Math.max(1000, Math.min(...limits) / 4));
    this.sweepTimer = setInterval(() => {
      this.stopIdle()
        .then(() => this.forgetLeft())
        .then(() => this.fillPool()) // the auto pool shrinks once arrivals calm down
        .catch((err: Error) => this.log.error({ err }, 'idle sweep failed'));
    }, every);
    this.sweepTimer.unref();
    if (this.opts.scrollback && !this.saveTimer) {
      this.saveTimer = setInterval(() => this.saveScrollback(), SCROLLBACK_SAVE_MS);
      this.saveTimer.unref();
    }
  }

  /**
   * Frees what memory holds for learners who left (the sandbox record, its 256 KiB
   * scrollback ring, live check results): every learner who ever attached would
   * otherwise stay in memory until the server restarts. Only stopped or absent
   * sandboxes, with no page, slot or step in flight, detached for FORGET_AFTER_MS,
   * their scrollback saved. A learner who comes back gets all of it from the engine
   * and the scrollback store, as after a restart. Returns how many were freed.
   */
  forgetLeft(now = Date.now()): number {
    let freed = 0;
    for (const sb of [...this.sandboxes.values()]) {
      const { learner } = sb;
      if (!this.isUnused(learner) || sb.pendingSteps > 0 || now - sb.detachedAt < FORGET_AFTER_MS) continue;
      if (this.opts.scrollback && sb.ring.version !== sb.savedVersion) continue; // the save timer writes it first
      clearTimeout(sb.lineKeepTimer);
      clearTimeout(sb.resizeTimer);
      this.sandboxes.delete(learner);
      this.opts.checker?.forget(learner);
      freed++;
    }
    return freed;
  }

  /** Writes every ring that changed since its last save (a full disk is logged, not fatal). */
  private saveScrollback(): void {
    const store = this.opts.scrollback;
    if (!store) return;
    for (const sb of this.sandboxes.values()) {
      if (sb.ring.version === sb.savedVersion) continue;
      try {
        store.save(sb.learner, sb.ring.contents());
        sb.savedVersion = sb.ring.version;
      } catch (err) {
        this.log.warn({ learner: shortHandle(sb.learner), err: (err as Error).message }, 'could not save scrollback');
      }
    }
  }

  private startStoredSweep(): void {
    if (this.storedTimer || !this.opts.maxStoredAgeMs) return;
    const sweep = () => this.removeExpired().catch((err: Error) => this.log.error({ err: err.message }, 'stored-age sweep failed'));
    void sweep();
    this.storedTimer = setInterval(sweep, Math.min(STORED_SWEEP_MS, Math.max(60_000, this.opts.maxStoredAgeMs / 4)));
    this.storedTimer.unref();
  }

  private sandbox(learner: string): Sandbox {
    let sb = this.sandboxes.get(learner);
    if (!sb) {
      sb = new Sandbox(learner, this.opts.scrollbackBytes);
      const saved = this.opts.scrollback?.load(learner);
      if (saved) sb.ring.push(saved);
      sb.savedVersion = sb.ring.version;
      this.sandboxes.set(learner, sb);
    }
    return sb;
  }

  private idleStopAt(sb: Sandbox): number {
    return sb.lastActivity + this.opts.idleTimeoutMs;
  }

  private maxAgeStopAt(sb: Sandbox): number | undefined {
    return this.opts.maxAgeMs === undefined || !sb.startedAt ? undefined : sb.startedAt + this.opts.maxAgeMs;
  }

  private statusMessage(sb: Sandbox): ServerMessage {
    const state = sb.state === 'absent' ? 'creating' : sb.state;
    const msg: ServerMessage = { t: 'status', state };
    if (sb.code) msg.code = sb.code;
    if (sb.message) msg.message = sb.message;
    if (state === 'ready') {
      msg.idleStopAt = this.idleStopAt(sb);
      sb.announcedIdleStopAt = msg.idleStopAt;
      const maxAgeAt = this.maxAgeStopAt(sb);
      if (maxAgeAt !== undefined) msg.maxAgeStopAt = maxAgeAt;
    }
    if (sb.code === 'queued') {
      const position = this.slots.position(sb.learner);
      if (position > 0) {
        msg.position = position;
        const waitMs = this.slots.estimateMs(position);
        if (waitMs !== undefined) msg.waitMs = waitMs;
      }
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
        if (sb.clients.size === 0 && sb.state !== 'starting') {
          if (sb.state === 'absent' || sb.state === 'stopped') this.slots.release(sb.learner); // e.g. a reset nobody watches
          return; // nobody waiting
        }
        if (sb.state === 'ready' && !sb.terminal?.isOpen) await this.recheckRunning(sb);
        if (sb.state !== 'ready' && !sb.engineReady) await this.startForLearner(sb);
        sb.engineReady = false;
        if (!sb.terminal?.isOpen) await this.openTerminal(sb);
        // Ready only once a shell takes input, so nothing typed right away is lost.
        if (sb.state !== 'ready') this.setState(sb, 'ready');
        else for (const c of sb.clients) if (!sb.live.has(c)) c.sendMessage(this.statusMessage(sb)); // pages that just attached
        this.goLive(sb);
        this.opts.checker?.sandboxReady(sb.learner, sb.containerId!);
      })
      .catch((err: Error) => {
        if (err instanceof LeftLine) return;
        if (err instanceof DiskFull) {
          this.log.warn({ learner: shortHandle(sb.learner), freeBytes: this.disk?.usage?.freeBytes }, 'new sandbox refused: the engine host is below its free-space mark');
          this.setState(sb, 'failed', 'disk-full');
          void this.disk?.check(); // sooner than the next interval: space may have come back
        } else {
          // The engine's words stay in the log: they can name hosts, paths and limits. The page gets a reference to them.
          const ref = randomBytes(4).toString('hex');
          this.log.error({ learner: shortHandle(sb.learner), ref, err: err.message }, 'sandbox failed to start');
          this.setState(sb, 'failed', 'start-failed', `${STATUS_TEXT['start-failed']} (reference ${ref})`);
        }
        // A failed sandbox gives its slot back; Retry queues again if there is a line.
        void sb.enqueue(async () => {
          if (sb.state !== 'failed') return;
          if (sb.containerId) await this.opts.runtime.stop(sb.containerId).catch(() => {});
          this.slots.release(sb.learner);
        });
      });
  }

  /** A learner's start (not the pool's): the pool refills only once no learner's start is in flight. */
  private async startForLearner(sb: Sandbox): Promise<void> {
    this.learnerStarts++;
    try {
      await this.startSandbox(sb);
    } finally {
      this.learnerStarts--;
      if (this.learnerStarts === 0 && this.slots.waiting === 0) this.fillPool();
    }
  }

  private async startSandbox(sb: Sandbox): Promise<void> {
    const { runtime } = this.opts;
    const began = Date.now();
    if (!this.slots.holds(sb.learner)) {
      const before = { state: sb.state, code: sb.code, message: sb.message };
      const turn = this.slots.acquire(sb.learner);
      if (!this.slots.holds(sb.learner)) this.setState(sb, 'creating', 'queued');
      const granted = await turn;
      // Their turn came during a reload: the slot waits for the page for the rest of the keep time.
      while (granted && sb.clients.size === 0 && Date.now() < sb.lineKeepUntil && !this.closing) {
        await new Promise((r) => setTimeout(r, 100));
      }
      if (!granted || sb.clients.size === 0) {
        // Left the line, or their page never came back: nobody to start it for.
        if (granted) this.slots.release(sb.learner);
        Object.assign(sb, before); // nobody is attached to see it
        throw new LeftLine();
      }
      this.log.info({ learner: shortHandle(sb.learner), waitedMs: Date.now() - began }, 'got a running slot');
    }
    if (this.starts.waiting > 0 || sb.state === 'absent') {
      this.setState(sb, 'creating', this.starts.waiting > 0 ? 'waiting' : 'creating');
    }
    await this.starts.acquire();
    try {
      let info = await runtime.find(sb.learner);
      if (info && (await runtime.replaceIfOutdated?.(info))) {
        this.log.info({ learner: shortHandle(sb.learner) }, 'sandbox made from an older image: recreated from the current one, data kept');
        info = undefined;
      }
      if (!info) {
        // Below the free-space mark: learners with data resume, no new sandbox takes space.
        if (this.disk && !this.disk.canCreate() && !this.disk.hasData(sb.learner)) throw new DiskFull();
        this.setState(sb, 'creating', 'creating');
        info = await runtime.create(sb.learner);
      }
      sb.containerId = info.id;
      this.setState(sb, 'starting', 'starting-engine');
      if (!info.running) await runtime.start(info.id);
      await waitForEngine(runtime, info.id, sb.learner, this.opts.startTimeoutMs, () => this.closing);
      sb.quickExits = 0;
      sb.lastActivity = sb.startedAt = Date.now();
      this.log.info({ learner: shortHandle(sb.learner), ms: Date.now() - began }, 'sandbox engine ready');
      this.opts.onStarted?.(Date.now() - began);
    } finally {
      this.starts.release();
    }
  }

  private async openTerminal(sb: Sandbox): Promise<void> {
    const first = sb.clients.values().next().value;
    const size = first?.size ?? { cols: 80, rows: 24 };
    // The shell greets in the language of the page it opens for (it outlives that page).
    const shell = await this.opts.runtime.openShell(sb.containerId!, size.cols, size.rows, first?.lang);
    const checker = this.opts.checker;
    const tap = this.opts.onOutput;
    const terminal = new Terminal(shell, sb.ring, sb.live, () => this.onShellExit(sb, terminal), checker && (() => checker.trigger(sb.learner, 'prompt')), tap && ((chunk) => tap(sb.learner, chunk)));
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
      if (sb.terminal?.isOpen) return; // a page's attach already brought it back
      // A killed container still reads "running" for a moment after its processes die:
      // look again shortly before taking the exit for the shell's own.
      let running = await this.recheckRunning(sb);
      if (running) {
        await delay(SHELL_EXIT_SETTLE_MS);
        running = await this.recheckRunning(sb);
      }
      if (!running) {
        this.opts.checker?.sandboxDown(sb.learner);
        this.setState(sb, 'stopped', 'stopped'); // the page reconnects, which starts it again
        return;
      }
      sb.quickExits = Date.now() - terminal.startedAt < QUICK_EXIT_MS ? sb.quickExits + 1 : 0;
      if (sb.quickExits >= MAX_QUICK_EXITS) {
        this.setState(sb, 'failed', 'shell-loop');
        return;
      }
      if (sb.clients.size === 0) return; // reopened on the next attach
      const lang = sb.clients.values().next().value?.lang;
      terminal.notice(lang === 'ko' ? '셸이 끝났어요. 새 셸을 시작해요.' : 'The shell exited. Starting a new one.');
      await this.openTerminal(sb);
      this.goLive(sb);
    }).catch((err: Error) => {
      // The engine itself may be down (restarting): report the sandbox stopped; the
      // page's reconnect starts it again once the engine is back.
      this.log.error({ learner: shortHandle(sb.learner), err: err.message }, 'could not reopen the shell');
      this.opts.checker?.sandboxDown(sb.learner);
      this.slots.release(sb.learner);
      this.setState(sb, 'stopped', 'stopped');
    });
  }

  /**
   * Whether the sandbox's container still runs; if it was stopped or removed from
   * outside (an operator, the OOM killer, an engine restart), marks it stopped so the
   * next bring-up starts or recreates it.
   */
  private async recheckRunning(sb: Sandbox): Promise<boolean> {
    const info = await this.opts.runtime.find(sb.learner);
    if (info?.running) return true;
    this.log.warn({ learner: shortHandle(sb.learner), removed: !info }, 'sandbox stopped from outside');
    this.slots.release(sb.learner);
    sb.state = 'stopped';
    sb.containerId = info?.id;
    return false;
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
