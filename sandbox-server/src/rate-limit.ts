/**
 * Token buckets: a steady rate plus a burst that can be spent at once. Used per
 * client address (sessions, sandboxes, API calls) and per socket (frames).
 *
 * Hand-written rather than a library: the whole algorithm is a dozen lines, it is
 * synchronous (the socket's frame check runs on every frame), and the fixed-window
 * limiters of the usual packages let a burst double at each window edge.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { IncomingMessage } from 'node:http';

export interface Rate {
  /** Tokens added per second. */
  perSecond: number;
  /** Bucket size: what a client that was quiet may spend at once. */
  burst: number;
}

export type Take = { ok: true } | { ok: false; retryAfterMs: number };

export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly rate: Rate;
  private readonly now: () => number;

  constructor(rate: Rate, now: () => number = Date.now) {
    this.rate = rate;
    this.now = now;
    this.tokens = rate.burst;
    this.last = now();
  }

  take(cost = 1): Take {
    this.refill();
    if (this.tokens >= cost) {
      this.tokens -= cost;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil(((cost - this.tokens) / this.rate.perSecond) * 1000) };
  }

  /** True when the bucket is back to full, i.e. forgetting it changes nothing. */
  get full(): boolean {
    this.refill();
    return this.tokens >= this.rate.burst;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.rate.burst, this.tokens + ((t - this.last) / 1000) * this.rate.perSecond);
    this.last = t;
  }
}

/** One bucket per key (a client address). Full buckets are forgotten, so memory follows active clients. */
export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly rate: Rate;
  private readonly now: () => number;
  private sweepAt: number;

  constructor(rate: Rate, now: () => number = Date.now) {
    this.rate = rate;
    this.now = now;
    this.sweepAt = now();
  }

  take(key: string, cost = 1): Take {
    this.sweep();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.rate, this.now);
      this.buckets.set(key, bucket);
    }
    return bucket.take(cost);
  }

  get size(): number {
    return this.buckets.size;
  }

  /** At most once per refill period: drop the buckets that refilled. */
  private sweep(): void {
    const t = this.now();
    if (t < this.sweepAt) return;
    this.sweepAt = t + Math.max(1000, (this.rate.burst / this.rate.perSecond) * 1000);
    for (const [key, bucket] of this.buckets) if (bucket.full) this.buckets.delete(key);
  }
}

/**
 * The address a request comes from: the socket's peer, or, behind a trusted
 * proxy, the last X-Forwarded-For entry (the one that proxy appended; earlier
 * entries are whatever the client claimed). IPv4-mapped IPv6 is shown as IPv4.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  let addr = req.socket.remoteAddress ?? 'unknown';
  if (trustProxy) {
    const forwarded = String(req.headers['x-forwarded-for'] ?? '').split(',').map((s) => s.trim()).filter(Boolean).at(-1);
    if (forwarded && (isIPv4(forwarded) || isIPv6(forwarded))) addr = forwarded;
  }
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr)?.[1] ?? addr;
}

/** The rate-limit key of an address: IPv6 clients by their /64, since one host commonly owns a whole /64. */
export function limitKey(addr: string): string {
  if (!isIPv6(addr)) return addr;
  const [head = '', tail = ''] = addr.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = addr.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export function isLoopback(addr: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(addr) || addr === '::1';
}

/** Whole seconds for a Retry-After header, never 0. */
export const retryAfterSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));
