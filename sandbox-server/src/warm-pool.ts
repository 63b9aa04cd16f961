/**
 * How many booted sandboxes to keep for new learners (BERTH_WARM_POOL=auto).
 *
 * A class arrives in bursts: when four learners open the page in the same minute,
 * the next minute likely brings as many. So the pool is as large as the busiest
 * minute of recent arrivals (at least `min`, at most `max`), and it only grows
 * while the host has memory to spare: each booted sandbox uses about 50 MiB, but a
 * learner may fill their whole limit, so one full sandbox's limit stays free.
 */

/** Arrivals older than this no longer size the pool: it shrinks back to `min`. */
export const ARRIVAL_MEMORY_MS = 10 * 60_000;
/** Arrivals are counted per window of this length; the busiest one sizes the pool. */
export const ARRIVAL_WINDOW_MS = 60_000;

export interface PoolSizing {
  /** Pool size with no recent arrivals. */
  min: number;
  /** Never more than this many. */
  max: number;
}

/** Records arrival times (epoch ms) and answers the busiest recent window. */
export class ArrivalLog {
  private readonly times: number[] = [];

  record(now: number): void {
    this.times.push(now);
    this.prune(now);
  }

  /** The most arrivals within any ARRIVAL_WINDOW_MS of the last ARRIVAL_MEMORY_MS. */
  peak(now: number): number {
    this.prune(now);
    let best = 0;
    let start = 0;
    for (let end = 0; end < this.times.length; end++) {
      while (this.times[end]! - this.times[start]! >= ARRIVAL_WINDOW_MS) start++;
      best = Math.max(best, end - start + 1);
    }
    return best;
  }

  private prune(now: number): void {
    while (this.times.length > 0 && now - this.times[0]! > ARRIVAL_MEMORY_MS) this.times.shift();
    // Bounded whatever arrives: a flood of session requests is limited elsewhere, this list anyway.
    if (this.times.length > 10_000) this.times.splice(0, this.times.length - 10_000);
  }
}

/**
 * The pool's target now: the busiest recent minute's arrivals within [min, max],
 * and no larger than the pool can grow without taking the host's memory below
 * `reserveBytes` (`availableBytes` is the host's MemAvailable; `poolSize` the
 * sandboxes already in the pool, whose memory that figure already counts).
 */
export function autoPoolTarget(peakArrivals: number, sizing: PoolSizing, memory?: { availableBytes: number; reserveBytes: number; poolSize: number }): number {
  const wanted = Math.min(sizing.max, Math.max(sizing.min, peakArrivals));
  if (!memory) return wanted;
  // Room for one more only while a learner could still fill a whole sandbox's limit after it.
  const room = memory.availableBytes >= memory.reserveBytes ? wanted : memory.poolSize;
  return Math.min(wanted, room);
}
