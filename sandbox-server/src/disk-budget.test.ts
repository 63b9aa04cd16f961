import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiskBudget, evictionsFor, resolveAmount } from './disk-budget.ts';
import type { DiskUsage } from './runtime/types.ts';

const GiB = 2 ** 30;

test('past the budget, the data of learners seen least recently goes first, and only as much as needed', () => {
  const stopped = [
    { learner: 'recent', bytes: 3 * GiB, lastSeen: 300 },
    { learner: 'oldest', bytes: 1 * GiB, lastSeen: 100 },
    { learner: 'middle', bytes: 2 * GiB, lastSeen: 200 },
    { learner: 'unknown', bytes: 1 * GiB, lastSeen: undefined },
  ];
  assert.deepEqual(evictionsFor(stopped, 7 * GiB), []);
  assert.deepEqual(evictionsFor(stopped, 6 * GiB), ['unknown']);
  assert.deepEqual(evictionsFor(stopped, 4 * GiB), ['unknown', 'oldest', 'middle']);
  assert.deepEqual(evictionsFor(stopped, 0), ['unknown', 'oldest', 'middle', 'recent']);
});

test('amounts are bytes or a share of the disk', () => {
  assert.equal(resolveAmount({ bytes: 5 }, 100), 5);
  assert.equal(resolveAmount({ percent: 25 }, 1000), 250);
});

test('the budget evicts only idle learners, refuses creates below the free mark, and survives a failed measure', async () => {
  let usage: DiskUsage = { sizeBytes: 100 * GiB, freeBytes: 50 * GiB, volumes: new Map([['a', 10 * GiB], ['b', 10 * GiB], ['busy', 30 * GiB]]) };
  const evicted: string[] = [];
  const errors: string[] = [];
  let fail = false;
  const budget = new DiskBudget({
    measure: async () => {
      if (fail) throw new Error('engine away');
      return { ...usage, volumes: new Map(usage.volumes) };
    },
    isIdle: (l) => l !== 'busy',
    lastSeen: (l) => ({ a: 1, b: 2 })[l as 'a' | 'b'],
    evict: async (l) => (evicted.push(l), true),
    stoppedBudget: { bytes: 15 * GiB },
    minFree: { percent: 10 },
    onError: (e) => errors.push(e.message),
  });
  assert.equal(budget.canCreate(), true, 'not measured yet: no refusal on a guess');
  await budget.check();
  assert.deepEqual(evicted, ['a'], 'the busy learner is never evicted; a (oldest) brings the rest under budget');
  assert.equal(budget.canCreate(), true);
  assert.equal(budget.hasData('b'), true);
  assert.equal(budget.hasData('a'), false);
  usage = { ...usage, freeBytes: 9 * GiB, volumes: new Map([['busy', 30 * GiB]]) };
  await budget.check();
  assert.equal(budget.canCreate(), false, 'below 10% free');
  fail = true;
  await budget.check();
  assert.deepEqual(errors, ['engine away']);
  assert.equal(budget.canCreate(), false, 'a failed measure keeps the last one');
});

test('after each measure the other caps are applied; their failure is logged and evictions still happen', async () => {
  const seen: number[] = [];
  const evicted: string[] = [];
  const errors: string[] = [];
  const budget = new DiskBudget({
    measure: async () => ({ sizeBytes: 100, freeBytes: 50, volumes: new Map([['old', 30]]), cacheBytes: 42 }),
    isIdle: () => true,
    lastSeen: () => 1,
    evict: async (l) => (evicted.push(l), true),
    stoppedBudget: { bytes: 10 },
    minFree: { bytes: 0 },
    onError: (e) => errors.push(e.message),
    onMeasured: async (u) => {
      seen.push(u.cacheBytes ?? -1);
      throw new Error('cache busy');
    },
  });
  await budget.check();
  assert.deepEqual(seen, [42]);
  assert.deepEqual(errors, ['cache busy']);
  assert.deepEqual(evicted, ['old']);
});
