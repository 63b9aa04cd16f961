import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlotQueue, defaultMaxSandboxes, HOST_RESERVE_BYTES } from './capacity.ts';

const GiB = 1024 ** 3;

test('the default maximum is what fits in memory beside the host reserve, at least 1', () => {
  assert.equal(defaultMaxSandboxes(0.75 * GiB, 24 * GiB), 30); // (24 - 1) / 0.75: a class of 30 on the reference host
  assert.equal(defaultMaxSandboxes(2 * GiB, 8 * GiB), 3);
  assert.equal(defaultMaxSandboxes(2 * GiB, HOST_RESERVE_BYTES), 1);
});

test('slots are taken up to the maximum, then learners wait first come first served', async () => {
  let changes = 0;
  const q = new SlotQueue(2, () => changes++);
  assert.equal(await q.acquire('a'), true);
  assert.equal(await q.acquire('b'), true);
  const served: string[] = [];
  const c = q.acquire('c').then((ok) => ok && served.push('c'));
  const d = q.acquire('d').then((ok) => ok && served.push('d'));
  assert.deepEqual([q.running, q.waiting, q.position('c'), q.position('d'), q.position('a')], [2, 2, 1, 2, 0]);
  assert.equal(q.tryAcquire('e'), false, 'nobody jumps the line');
  q.release('b');
  await c;
  assert.deepEqual(served, ['c']);
  assert.equal(q.position('d'), 1, 'd moved up');
  q.release('a');
  await d;
  assert.deepEqual(served, ['c', 'd']);
  assert.equal(q.running, 2);
  assert.ok(changes >= 4, 'every join and move is announced');
});

test('a learner can leave the line; the rest move up', async () => {
  const q = new SlotQueue(1);
  q.tryAcquire('a');
  const b = q.acquire('b');
  void q.acquire('c');
  q.cancel('b');
  assert.equal(await b, false);
  assert.equal(q.position('c'), 1);
  q.release('a');
  assert.equal(q.holds('c'), true);
  assert.equal(q.holds('b'), false);
});

test('a second request for the same learner shares their place', async () => {
  const q = new SlotQueue(1);
  q.tryAcquire('a');
  const first = q.acquire('b');
  const second = q.acquire('b');
  assert.equal(q.waiting, 1);
  q.release('a');
  assert.deepEqual(await Promise.all([first, second]), [true, true]);
});

test('adopted sandboxes count even past the maximum; releasing an unknown key changes nothing', () => {
  const q = new SlotQueue(1);
  q.adopt('x');
  q.adopt('y');
  assert.equal(q.running, 2);
  assert.equal(q.tryAcquire('z'), false);
  q.release('nobody');
  q.release('x');
  assert.equal(q.tryAcquire('z'), false, 'still at the maximum');
  q.release('y');
  assert.equal(q.tryAcquire('z'), true);
});

test('the wait estimate is the mean gap between recent releases times the place in line', () => {
  let now = 0;
  const q = new SlotQueue(1, () => {}, () => now);
  q.tryAcquire('a');
  void q.acquire('b');
  void q.acquire('c');
  void q.acquire('d');
  assert.equal(q.estimateMs(1), undefined, 'no turnover seen yet');
  now = 10_000;
  q.release('a'); // b in
  assert.equal(q.estimateMs(1), undefined, 'one release is no rate');
  now = 70_000;
  q.release('b'); // c in; gap 60 s
  assert.equal(q.estimateMs(1), 60_000);
  assert.equal(q.estimateMs(3), 180_000);
  now = 90_000;
  q.release('c'); // gap 20 s: mean 40 s
  assert.equal(q.estimateMs(2), 80_000);
  assert.equal(q.estimateMs(0), undefined);
});
