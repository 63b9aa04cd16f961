import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDiskUsage } from './docker.ts';

test('the disk helper\'s output: the filesystem, each learner\'s data volume, the cache; anything else is ignored', () => {
  const out = ['  268435456000 80000000000', 'berth-x-data-aaaa 1048576', 'berth-x-data-bbbb 2097152', 'berth-x-registry-cache 5000', 'berth-x-data-unknown 7', 'garbage line', ''].join('\n');
  const usage = parseDiskUsage(out, [{ name: 'berth-x-data-aaaa', learner: 'A' }, { name: 'berth-x-data-bbbb', learner: 'B' }], 'berth-x-registry-cache');
  assert.equal(usage.sizeBytes, 268435456000);
  assert.equal(usage.freeBytes, 80000000000);
  assert.deepEqual([...usage.volumes], [['A', 1048576], ['B', 2097152]]);
  assert.equal(usage.cacheBytes, 5000);
  assert.equal(parseDiskUsage('1 2\n', [], 'c').cacheBytes, undefined, 'no cache volume: no figure');
  assert.throws(() => parseDiskUsage('df: /v: No such file\n', []), /unexpected df output/);
});
