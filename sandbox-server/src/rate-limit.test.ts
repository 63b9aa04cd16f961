import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { RateLimiter, TokenBucket, clientAddress, isForwarded, trustedProxies, isLoopback, limitKey, retryAfterSeconds } from './rate-limit.ts';
import { parseRate } from './config.ts';

const clock = () => {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
};

test('a bucket spends its burst at once, then refuses with the wait until the next token', () => {
  const c = clock();
  const b = new TokenBucket({ perSecond: 2, burst: 3 }, c.now);
  assert.deepEqual([b.take(), b.take(), b.take()].map((r) => r.ok), [true, true, true]);
  const refused = b.take();
  assert.deepEqual(refused, { ok: false, retryAfterMs: 500 });
  c.advance(499);
  assert.equal(b.take().ok, false);
  c.advance(1);
  assert.equal(b.take().ok, true);
  c.advance(60_000);
  assert.equal(b.full, true, 'refills, but never beyond the burst');
  assert.deepEqual([b.take(), b.take(), b.take(), b.take()].map((r) => r.ok), [true, true, true, false]);
});

test('the limiter keeps one bucket per key and forgets the ones that refilled', () => {
  const c = clock();
  const l = new RateLimiter({ perSecond: 1, burst: 2 }, c.now);
  assert.equal(l.take('a').ok, true);
  assert.equal(l.take('a').ok, true);
  assert.equal(l.take('a').ok, false);
  assert.equal(l.take('b').ok, true, 'another key has its own bucket');
  assert.equal(l.size, 2);
  c.advance(5_000);
  l.take('c');
  assert.equal(l.size, 1, 'full buckets were dropped');
});

test('a class of 100 behind one address gets in at once with the default session rate', () => {
  const rate = parseRate('120/min')!;
  const l = new RateLimiter(rate, clock().now);
  for (let i = 0; i < 100; i++) assert.equal(l.take('school-nat').ok, true, `learner ${i}`);
});

test('parseRate reads count/period and off, and refuses anything else', () => {
  assert.deepEqual(parseRate('120/min'), { perSecond: 2, burst: 120 });
  assert.deepEqual(parseRate('10/s'), { perSecond: 10, burst: 10 });
  assert.deepEqual(parseRate('3600/h'), { perSecond: 1, burst: 3600 });
  assert.equal(parseRate('off'), undefined);
  for (const bad of ['', '120', '0/min', '12/day', '-1/s', 'fast']) assert.throws(() => parseRate(bad), /expected a rate/, bad);
});

const req = (remoteAddress: string, xff?: string | string[], forwarded?: string) =>
  ({ socket: { remoteAddress }, headers: { ...(xff === undefined ? {} : { 'x-forwarded-for': xff }), ...(forwarded === undefined ? {} : { forwarded }) } }) as unknown as IncomingMessage;
const none = trustedProxies([]);
const local = trustedProxies(['127.0.0.1/32', '::1/128']);

test('without trusted proxies the client address is the socket peer, whatever X-Forwarded-For says', () => {
  assert.equal(clientAddress(req('::ffff:10.1.2.3'), none), '10.1.2.3');
  assert.equal(clientAddress(req('127.0.0.1', '203.0.113.9'), none), '127.0.0.1', 'X-Forwarded-For ignored without trust');
});

test('X-Forwarded-For is read only when the socket peer is a trusted proxy', () => {
  // A direct client (not the proxy) rotating the header stays itself.
  for (const xff of ['203.0.113.1', '203.0.113.2', '127.0.0.1']) assert.equal(clientAddress(req('198.51.100.7', xff), local), '198.51.100.7', xff);
  assert.equal(clientAddress(req('127.0.0.1', '203.0.113.9'), local), '203.0.113.9');
  assert.equal(clientAddress(req('::ffff:127.0.0.1', '203.0.113.9'), local), '203.0.113.9', 'a mapped IPv4 peer is matched as IPv4');
  assert.equal(clientAddress(req('::1', '2001:db8::5'), local), '2001:db8::5');
  assert.equal(clientAddress(req('127.0.0.1'), local), '127.0.0.1', 'no header: the proxy itself');
});

test('the client is the right-most entry that is not a trusted proxy', () => {
  const chain = trustedProxies(['127.0.0.1', '10.0.0.0/8']);
  assert.equal(clientAddress(req('127.0.0.1', '198.51.100.1, 203.0.113.9'), chain), '203.0.113.9', 'the entry the proxy appended, not the forgeable first one');
  assert.equal(clientAddress(req('127.0.0.1', '198.51.100.1, 203.0.113.9, 10.1.1.1'), chain), '203.0.113.9', 'an inner proxy hop is skipped');
  assert.equal(clientAddress(req('127.0.0.1', ['198.51.100.1', '203.0.113.9, 10.1.1.1']), chain), '203.0.113.9', 'repeated headers are one list');
  assert.equal(clientAddress(req('127.0.0.1', '10.2.2.2, 10.1.1.1'), chain), '10.2.2.2', 'all trusted: the left-most');
  assert.equal(clientAddress(req('127.0.0.1', '198.51.100.1, garbage, 10.1.1.1'), chain), '10.1.1.1', 'a malformed entry stops at the last hop we could verify');
  assert.equal(clientAddress(req('127.0.0.1', 'garbage'), chain), '127.0.0.1');
});

test('isForwarded sees X-Forwarded-For and Forwarded', () => {
  assert.equal(isForwarded(req('127.0.0.1')), false);
  assert.equal(isForwarded(req('127.0.0.1', '127.0.0.1')), true);
  assert.equal(isForwarded(req('127.0.0.1', undefined, 'for=127.0.0.1')), true);
});

test('IPv6 clients are limited per /64; IPv4 per address', () => {
  assert.equal(limitKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(limitKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
  assert.equal(limitKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(limitKey('::1'), '0:0:0:0::/64');
  assert.equal(limitKey('192.0.2.7'), '192.0.2.7');
});

test('loopback and Retry-After helpers', () => {
  assert.equal(isLoopback('127.0.0.1'), true);
  assert.equal(isLoopback('127.8.9.10'), true);
  assert.equal(isLoopback('::1'), true);
  assert.equal(isLoopback('10.0.0.1'), false);
  assert.equal(isLoopback('::2'), false);
  assert.equal(retryAfterSeconds(1), 1);
  assert.equal(retryAfterSeconds(0), 1);
  assert.equal(retryAfterSeconds(1500), 2);
});
