import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARRIVAL_MEMORY_MS, ARRIVAL_WINDOW_MS, ArrivalLog, autoPoolTarget } from './warm-pool.ts';

test('the busiest minute of the last ten sizes the pool', () => {
  const log = new ArrivalLog();
  const t0 = 1_000_000;
  for (const dt of [0, 1000, 2000, 3000]) log.record(t0 + dt); // four together
  log.record(t0 + 5 * ARRIVAL_WINDOW_MS); // one later
  assert.equal(log.peak(t0 + 5 * ARRIVAL_WINDOW_MS), 4);
  // Spread out: never more than one in a minute.
  const spread = new ArrivalLog();
  for (let i = 0; i < 5; i++) spread.record(t0 + i * ARRIVAL_WINDOW_MS);
  assert.equal(spread.peak(t0 + 5 * ARRIVAL_WINDOW_MS), 1);
  // Forgotten after ten minutes.
  assert.equal(log.peak(t0 + 5 * ARRIVAL_WINDOW_MS + ARRIVAL_MEMORY_MS + 1), 0);
});

test('the target stays within min and max, and does not grow without memory', () => {
  const sizing = { min: 2, max: 8 };
  assert.equal(autoPoolTarget(0, sizing), 2);
  assert.equal(autoPoolTarget(5, sizing), 5);
  assert.equal(autoPoolTarget(30, sizing), 8);
  const gib = 1024 ** 3;
  assert.equal(autoPoolTarget(5, sizing, { availableBytes: 4 * gib, reserveBytes: 2 * gib, poolSize: 2 }), 5);
  assert.equal(autoPoolTarget(5, sizing, { availableBytes: 1 * gib, reserveBytes: 2 * gib, poolSize: 3 }), 3, 'keeps what it has, adds none');
  assert.equal(autoPoolTarget(1, sizing, { availableBytes: 1 * gib, reserveBytes: 2 * gib, poolSize: 0 }), 0);
});
