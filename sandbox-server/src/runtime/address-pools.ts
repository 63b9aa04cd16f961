/**
 * IPv4 ranges of the two Docker engines a sandbox lives between, kept apart:
 *  - the host engine's sandbox network (its gateway is where sandboxes reach the
 *    catalog registry), taken from BERTH_SANDBOX_NETWORK_RANGE;
 *  - the pools each sandbox's nested engine hands out for the learner's own
 *    networks (BERTH_NESTED_ADDRESS_POOLS, written into its daemon.json).
 * A nested network that covered the gateway would make the registry look local to
 * that network inside the sandbox, and every pull would fail.
 */
import { isIPv4 } from 'node:net';

/** A pool as in daemon.json's default-address-pools: networks of /size carved out of base. */
export interface AddressPool {
  base: string;
  size: number;
}

/** The nested engine's own link to the outside (slirp4netns): no pool may cover it. */
export const SLIRP_SUBNET = '10.0.2.0/24';
/** Each Berth instance's sandbox network takes a block this big from the range (1022 sandboxes). */
export const SANDBOX_SUBNET_PREFIX = 22;

interface Cidr {
  /** The network address as an unsigned 32-bit number. */
  start: number;
  prefix: number;
}

function toNumber(addr: string): number {
  return addr.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function toAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

/** Strict: host bits must be zero (settings); otherwise they are masked (what an engine reports). */
function parse(raw: string, strict = false): Cidr {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(raw.trim());
  if (!m || !isIPv4(m[1]!) || Number(m[2]) > 32) throw new Error(`expected an IPv4 range such as 198.19.0.0/16, got "${raw}"`);
  const prefix = Number(m[2]);
  const addr = toNumber(m[1]!);
  const start = addr - (addr % blockSize(prefix));
  if (strict && start !== addr) throw new Error(`"${raw}" is not a network address (host bits set); did you mean ${toAddress(start)}/${prefix}?`);
  return { start, prefix };
}

/** Whether `raw` is an IPv4 CIDR (e.g. a subnet an engine reports, which may be IPv6). */
export function isIpv4Range(raw: string): boolean {
  try {
    parse(raw);
    return true;
  } catch {
    return false;
  }
}

/** "198.19.0.0/16" -> itself; throws on anything but an IPv4 network address with its prefix. */
export function parseIpv4Range(raw: string): string {
  const c = parse(raw, true);
  return `${toAddress(c.start)}/${c.prefix}`;
}

/** Whether two IPv4 CIDRs share any address. */
export function overlaps(a: string, b: string): boolean {
  const x = parse(a);
  const y = parse(b);
  return x.start < y.start + blockSize(y.prefix) && y.start < x.start + blockSize(x.prefix);
}

/** Whether `inner` lies wholly inside `outer`. */
export function contains(outer: string, inner: string): boolean {
  const o = parse(outer);
  const i = parse(inner);
  return i.prefix >= o.prefix && i.start >= o.start && i.start + blockSize(i.prefix) <= o.start + blockSize(o.prefix);
}

/**
 * "172.17.0.0/16, 172.18.0.0/15:16, 192.168.0.0/16:20": comma-separated base ranges,
 * each split into networks of /size (default: the base itself is one network).
 */
export function parseAddressPools(raw: string): AddressPool[] {
  const pools = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const m = /^([^:]+?)(?::(\d{1,2}))?$/.exec(entry);
      const base = parseIpv4Range(m?.[1] ?? entry);
      const prefix = Number(base.split('/')[1]);
      const size = m?.[2] === undefined ? prefix : Number(m[2]);
      if (size < prefix || size > 30) throw new Error(`pool "${entry}": the network size must be from /${prefix} to /30`);
      return { base, size };
    });
  if (pools.length === 0) throw new Error('expected at least one address pool');
  return pools;
}

/** The pools as the sandbox entrypoint takes them (BERTH_ADDRESS_POOLS): "base:size,...". */
export function formatAddressPools(pools: AddressPool[]): string {
  return pools.map((p) => `${p.base}:${p.size}`).join(',');
}

/**
 * The blocks a sandbox network may take from `range`, in order: /SANDBOX_SUBNET_PREFIX
 * each, or the whole range when it is smaller.
 */
export function* candidateSubnets(range: string): Generator<string> {
  const r = parse(range);
  const prefix = subnetPrefix(range);
  for (let start = r.start; start < r.start + blockSize(r.prefix); start += blockSize(prefix)) yield `${toAddress(start)}/${prefix}`;
}

/** The prefix of the blocks candidateSubnets() yields. */
export function subnetPrefix(range: string): number {
  return Math.max(parse(range).prefix, SANDBOX_SUBNET_PREFIX);
}

/** The first host address of a subnet: what Docker would pick as its gateway. */
export function firstHost(subnet: string): string {
  return toAddress(parse(subnet).start + 1);
}
