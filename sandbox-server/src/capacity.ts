/**
 * Capacity: how many sandboxes may run at once, and the fair (FIFO) line of
 * learners waiting for one of those running slots.
 */
import { totalmem } from 'node:os';

/** Memory kept for the host, the server, the registry and the engine itself. */
export const HOST_RESERVE_BYTES = 1024 ** 3;

/** Default maximum of running sandboxes: what fits in memory beside the host's reserve (at least 1). */
export function defaultMaxSandboxes(sandboxMemoryBytes: number, totalBytes: number = totalmem()): number {
  return Math.max(1, Math.floor((totalBytes - HOST_RESERVE_BYTES) / sandboxMemoryBytes));
}

/** How many recent slot releases the wait estimate averages over. */
const TURNOVER_SAMPLES = 10;

/**
 * Running slots and the line for them. A holder keeps its slot until released;
 * waiters are served strictly in arrival order. Positions are 1-based.
 *
 * The wait estimate comes from observed turnover: the mean gap between the
 * last few slot releases, times the position. With fewer than two releases
 * seen there is no estimate (the page says so rather than guessing).
 */
export class SlotQueue {
  readonly max: number;
  private readonly holders = new Set<string>();
  private readonly line: { key: string; grant: (granted: boolean) => void }[] = [];
  private readonly releases: number[] = [];
  private readonly onLineChange: () => void;
  private readonly now: () => number;

  constructor(max: number, onLineChange: () => void = () => {}, now: () => number = Date.now) {
    this.max = max;
    this.onLineChange = onLineChange;
    this.now = now;
  }

  get running(): number {
    return this.holders.size;
  }

  get waiting(): number {
    return this.line.length;
  }

  get free(): number {
    return Math.max(0, this.max - this.holders.size);
  }

  holds(key: string): boolean {
    return this.holders.has(key);
  }

  /** Takes a slot now if one is free and nobody is waiting; never queues. */
  tryAcquire(key: string): boolean {
    if (this.holders.has(key)) return true;
    if (this.line.length > 0 || this.holders.size >= this.max) return false;
    this.holders.add(key);
    return true;
  }

  /** Records a slot the engine already runs (adopted at start), even past the maximum. */
  adopt(key: string): void {
    this.holders.add(key);
  }

  /** Resolves true once `key` holds a slot, false if its wait was cancelled. */
  acquire(key: string): Promise<boolean> {
    if (this.tryAcquire(key)) return Promise.resolve(true);
    const queued = this.line.find((w) => w.key === key);
    if (queued) {
      // A second request for the same learner waits on the same place in line.
      return new Promise((resolve) => {
        const prev = queued.grant;
        queued.grant = (granted) => {
          prev(granted);
          resolve(granted);
        };
      });
    }
    return new Promise((resolve) => {
      this.line.push({ key, grant: resolve });
      this.onLineChange();
    });
  }

  /** Leaves the line (the learner went away before their turn). */
  cancel(key: string): void {
    const i = this.line.findIndex((w) => w.key === key);
    if (i < 0) return;
    const [w] = this.line.splice(i, 1);
    w!.grant(false);
    this.onLineChange();
  }

  /** Gives the slot back and serves the line. */
  release(key: string): void {
    if (!this.holders.delete(key)) return;
    this.releases.push(this.now());
    if (this.releases.length > TURNOVER_SAMPLES + 1) this.releases.shift();
    this.serve();
  }

  /** 1-based place in line, or 0 when not waiting. */
  position(key: string): number {
    return this.line.findIndex((w) => w.key === key) + 1;
  }

  /** Estimated wait for a place in line, in ms, or undefined before enough turnover was seen. */
  estimateMs(position: number): number | undefined {
    if (position <= 0 || this.releases.length < 2) return undefined;
    const span = this.releases.at(-1)! - this.releases[0]!;
    const meanGap = span / (this.releases.length - 1);
    return Math.round(meanGap * position);
  }

  private serve(): void {
    let moved = false;
    while (this.line.length > 0 && this.holders.size < this.max) {
      const w = this.line.shift()!;
      this.holders.add(w.key);
      w.grant(true);
      moved = true;
    }
    if (moved) this.onLineChange();
  }
}
