import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentSecurityPolicy, sharedPing } from './http.ts';
import { oncePer } from './log.ts';

test('health pings: concurrent callers share one, and answers are reused for a second', async () => {
  let t = 0;
  let calls = 0;
  let answer: (up: boolean) => void = () => {};
  const ping = sharedPing(() => {
    calls++;
    return new Promise<boolean>((resolve) => (answer = resolve));
  }, 1000, () => t);
  const waiting = Array.from({ length: 100 }, () => ping());
  assert.equal(calls, 1, '100 requests while a ping is out: one ping');
  answer(true);
  assert.deepEqual(new Set(await Promise.all(waiting)), new Set([true]));
  t += 999;
  assert.equal(await ping(), true);
  assert.equal(calls, 1, 'reused within the second');
  t += 1;
  const next = ping();
  assert.equal(calls, 2, 'a new ping after it');
  answer(false);
  assert.equal(await next, false);
});

test('a ping that throws counts as the engine down and is retried after the cache time', async () => {
  let t = 0;
  let calls = 0;
  const ping = sharedPing(async () => {
    calls++;
    throw new Error('socket gone');
  }, 1000, () => t);
  assert.equal(await ping(), false);
  t += 1000;
  assert.equal(await ping(), false);
  assert.equal(calls, 2);
});

test('the CSP allows only our own scripts and the terminal socket on the page\'s host', () => {
  const csp = contentSecurityPolicy('localhost:4321', false);
  for (const d of ["default-src 'self'", "script-src 'self'", "connect-src 'self' ws://localhost:4321", "frame-ancestors 'none'", "object-src 'none'"]) assert.ok(csp.includes(d), d);
  assert.doesNotMatch(csp, /script-src[^;]*unsafe/);
  assert.match(contentSecurityPolicy('learn.example.org', true), /connect-src 'self' wss:\/\/learn\.example\.org/);
});

test('oncePer: at most one true per period', () => {
  let t = 0;
  const gate = oncePer(60_000, () => t);
  assert.deepEqual([gate(), gate(), gate()], [true, false, false]);
  t = 59_999;
  assert.equal(gate(), false);
  t = 60_000;
  assert.equal(gate(), true);
});
