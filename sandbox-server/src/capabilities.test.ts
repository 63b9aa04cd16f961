import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilitiesFromStatus, missingSandboxCapabilities, parseCapabilityMask } from './capabilities.ts';

test('masks map bits to names', () => {
  assert.deepEqual([...parseCapabilityMask('0')], []);
  assert.deepEqual([...parseCapabilityMask('1')], ['CHOWN']);
  assert.deepEqual([...parseCapabilityMask('0000000000200000')], ['SYS_ADMIN']);
  assert.deepEqual([...parseCapabilityMask('a80425fb')].length, 14); // Docker's default set
  assert.ok(parseCapabilityMask('a80425fb').has('NET_RAW'));
  assert.ok(!parseCapabilityMask('a80425fb').has('SYS_ADMIN'));
  assert.throws(() => parseCapabilityMask('xyz'), /not a capability mask/);
});

test('these machines: every capability but SYS_RESOURCE is in the bounding set', () => {
  const caps = parseCapabilityMask('000001fffeffffff');
  assert.equal(caps.has('SYS_RESOURCE'), false);
  assert.equal(caps.has('SYS_ADMIN'), true);
  assert.equal(caps.size, 40);
});

test('status text: fields are read, and the capabilities a default container lacks are reported', () => {
  const status = 'Name:\tbash\nCapInh:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t00000000a80425fb\n';
  assert.equal(capabilitiesFromStatus(status, 'CapEff').size, 0);
  assert.deepEqual(missingSandboxCapabilities(status), ['SYS_ADMIN', 'DAC_READ_SEARCH']);
  assert.deepEqual(missingSandboxCapabilities('CapBnd:\t000001ffffffffff\n'), []);
  assert.throws(() => capabilitiesFromStatus('Name: x', 'CapBnd'), /no CapBnd/);
});
