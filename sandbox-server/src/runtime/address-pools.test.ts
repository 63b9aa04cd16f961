import { test } from 'node:test';
import assert from 'node:assert/strict';
import { candidateSubnets, contains, firstHost, formatAddressPools, isIpv4Range, overlaps, parseAddressPools, parseIpv4Range } from './address-pools.ts';

test('ranges parse strictly: IPv4 network addresses with their prefix', () => {
  assert.equal(parseIpv4Range(' 198.19.0.0/16 '), '198.19.0.0/16');
  assert.throws(() => parseIpv4Range('198.19.0.1/16'), /host bits set\); did you mean 198\.19\.0\.0\/16/);
  assert.throws(() => parseIpv4Range('198.19.0.0'), /IPv4 range/);
  assert.throws(() => parseIpv4Range('300.1.0.0/16'), /IPv4 range/);
  assert.throws(() => parseIpv4Range('fd00::/8'), /IPv4 range/);
  assert.equal(isIpv4Range('172.18.0.0/16'), true);
  assert.equal(isIpv4Range('fd00::/64'), false);
});

test('overlap and containment', () => {
  assert.equal(overlaps('172.16.0.0/12', '172.18.0.0/16'), true);
  assert.equal(overlaps('172.18.0.0/16', '172.19.0.0/16'), false);
  assert.equal(overlaps('198.19.0.0/16', '198.19.255.0/24'), true);
  assert.equal(overlaps('10.0.2.0/24', '10.0.0.0/8'), true);
  assert.equal(contains('198.19.0.0/16', '198.19.4.0/22'), true);
  assert.equal(contains('198.19.0.0/16', '198.18.0.0/15'), false);
  assert.equal(contains('198.19.0.0/16', '172.18.0.0/16'), false);
});

test('pools: base with an optional network size, and back to the entrypoint form', () => {
  const pools = parseAddressPools('172.17.0.0/16, 172.18.0.0/15:16,192.168.0.0/16:20');
  assert.deepEqual(pools, [
    { base: '172.17.0.0/16', size: 16 },
    { base: '172.18.0.0/15', size: 16 },
    { base: '192.168.0.0/16', size: 20 },
  ]);
  assert.equal(formatAddressPools(pools), '172.17.0.0/16:16,172.18.0.0/15:16,192.168.0.0/16:20');
  assert.throws(() => parseAddressPools('172.18.0.0/16:8'), /size must be from \/16 to \/30/);
  assert.throws(() => parseAddressPools(''), /at least one/);
});

test('sandbox subnets: /22 blocks of the range in order, or the range itself when smaller', () => {
  const blocks = [...candidateSubnets('198.19.0.0/16')];
  assert.equal(blocks.length, 64);
  assert.deepEqual(blocks.slice(0, 2), ['198.19.0.0/22', '198.19.4.0/22']);
  assert.equal(blocks.at(-1), '198.19.252.0/22');
  assert.deepEqual([...candidateSubnets('198.19.7.0/24')], ['198.19.7.0/24']);
  assert.equal(firstHost('198.19.4.0/22'), '198.19.4.1');
});
