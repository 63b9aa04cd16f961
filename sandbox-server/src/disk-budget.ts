/**
 * The engine host's disk, shared by every learner. Each sandbox may fill its own disk
 * (BERTH_SANDBOX_DISK) and leave; stopped sandboxes keep their data for days. Two
 * rules keep the host from filling up:
 *  - stopped sandboxes' data together stay within a budget: past it, the data of the
 *    learners seen least recently is deleted first (their progress is kept);
 *  - below a free-space mark, no new sandbox is created (learners with data still
 *    resume), so the running ones and the engine keep room to work.
 * A periodic measure (runtime.diskUsage, a helper container) feeds both.
 */
import type { DiskUsage } from './runtime/types.ts';

export interface StoredSandbox {
  learner: string;
  bytes: number;
  /** When the learner was last seen (epoch ms); unknown ones count as oldest. */
  lastSeen: number | undefined;
}

/** Learners whose stopped data to delete, oldest first, until the rest fit in budgetBytes. */
export function evictionsFor(stopped: StoredSandbox[], budgetBytes: number): string[] {
  let total = stopped.reduce((n, s) => n + s.bytes, 0);
  const out: string[] = [];
  for (const s of [...stopped].sort((a, b) => (a.lastSeen ?? 0) - (b.lastSeen ?? 0))) {
    if (total <= budgetBytes) break;
    out.push(s.learner);
    total -= s.bytes;
  }
  return out;
}

/** A byte count, or a share of the disk's size (`25%`). */
export type DiskAmount = { bytes: number } | { percent: number };

export function resolveAmount(amount: DiskAmount, sizeBytes: number): number {
  return 'bytes' in amount ? amount.bytes : Math.floor((sizeBytes * amount.percent) / 100);
}

export interface DiskBudgetOptions {
  measure: () => Promise<DiskUsage>;
  /** Learners whose sandbox is stopped or absent and not in use: their data may go. */
  isIdle: (learner: string) => boolean;
  lastSeen: (learner: string) => number | undefined;
  /** Deletes a learner's stopped sandbox and data; false if it was in use after all. */
  evict: (learner: string) => Promise<boolean>;
  stoppedBudget: DiskAmount;
  minFree: DiskAmount;
  onError: (err: Error) => void;
  onEvicted?: (learner: string, bytes: number) => void;
  /** After each measure: keep other things on the disk within their own caps (the registry cache). */
  onMeasured?: (usage: DiskUsage) => Promise<void>;
}

export class DiskBudget {
  private readonly opts: DiskBudgetOptions;
  private last: DiskUsage | undefined;
  private running: Promise<void> | undefined;

  constructor(opts: DiskBudgetOptions) {
    this.opts = opts;
  }

  /** The last measure, if any. */
  get usage(): DiskUsage | undefined {
    return this.last;
  }

  /** False while the host's free space is below the mark (measured last time). */
  canCreate(): boolean {
    if (!this.last) return true; // not measured (yet): do not refuse on a guess
    return this.last.freeBytes >= resolveAmount(this.opts.minFree, this.last.sizeBytes);
  }

  /** Whether the learner already has data on the host (resuming takes no new space at once). */
  hasData(learner: string): boolean {
    return this.last?.volumes.has(learner) ?? false;
  }

  private stopped = false;

  /** Measures, then deletes stopped data past the budget; one run at a time; never rejects. */
  check(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.run()
      .catch((err: Error) => this.opts.onError(err))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** No more checks; resolves once a check under way is done (it evicts nothing more). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async run(): Promise<void> {
    const usage = await this.opts.measure();
    if (this.stopped) return;
    this.last = usage;
    await this.opts.onMeasured?.(usage).catch((err: Error) => this.opts.onError(err));
    const stopped: StoredSandbox[] = [...usage.volumes]
      .filter(([learner]) => this.opts.isIdle(learner))
      .map(([learner, bytes]) => ({ learner, bytes, lastSeen: this.opts.lastSeen(learner) }));
    const budget = resolveAmount(this.opts.stoppedBudget, usage.sizeBytes);
    for (const learner of evictionsFor(stopped, budget)) {
      if (this.stopped) return;
      const bytes = usage.volumes.get(learner) ?? 0;
      if (!(await this.opts.evict(learner))) continue;
      usage.volumes.delete(learner);
      usage.freeBytes += bytes;
      this.opts.onEvicted?.(learner, bytes);
    }
  }
}
