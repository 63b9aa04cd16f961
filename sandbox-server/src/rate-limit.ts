/**
 * Token buckets: a steady rate plus a burst that can be spent at once. Used per
 * client address (sessions, sandboxes, API calls) and per socket (frames).
 *
 * Hand-written rather than a library: the whole algorithm is a dozen lines, it is
 * synchronous (the socket's frame check runs on every frame), and the fixed-window
 * limiters of the usual packages let a burst double at each window edge.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
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

/** IPv4-mapped IPv6 (how a dual-stack socket shows IPv4 peers) as plain IPv4. */
export function plainAddress(addr: string): string {
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(addr)?.[1] ?? addr;
}

/** The reverse proxies whose X-Forwarded-For is believed: IPs and CIDRs ("a.b.c.d/n"). */
export function trustedProxies(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [addr = '', prefix] = cidr.split('/');
    const type = isIPv6(addr) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(prefix), type);
  }
  return list;
}

function isTrusted(addr: string, trusted: BlockList): boolean {
  const type = isIPv4(addr) ? 'ipv4' : isIPv6(addr) ? 'ipv6' : undefined;
  return type !== undefined && trusted.check(addr, type);
}

/**
 * The address a request comes from. X-Forwarded-For is read only when the socket
 * peer is a trusted proxy, and then from the right: each trusted hop appended the
 * address it saw, so the right-most entry that is not a trusted proxy is the client
 * (everything left of it is whatever the client claimed). A malformed entry stops
 * the walk at the last hop we could verify.
 */
export function clientAddress(req: IncomingMessage, trusted: BlockList): string {
  let addr = plainAddress(req.socket.remoteAddress ?? 'unknown');
  if (!isTrusted(addr, trusted)) return addr;
  const header = req.headers['x-forwarded-for'];
  const entries = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((s) => s.trim()).filter(Boolean);
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = plainAddress(entries[i]!);
    if (!isIPv4(entry) && !isIPv6(entry)) return addr;
    addr = entry;
    if (!isTrusted(addr, trusted)) return addr;
  }
  return addr;
}

/** True when a request carries a forwarding header (it came through a proxy, or claims to). */
export function isForwarded(req: IncomingMessage): boolean {
  return req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined;
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
