import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mirrorUrls, registryLabels } from './registry.ts';
import { loadConfig } from './config.ts';

test('sandboxes get the catalog as their first mirror and the cache, when on, as the second', () => {
  assert.deepEqual(mirrorUrls('172.18.0.1', 5000, false), ['http://172.18.0.1:5000']);
  assert.deepEqual(mirrorUrls('172.18.0.1', 5000, true), ['http://172.18.0.1:5000', 'http://172.18.0.1:5001']);
});

test('registry containers carry the instance labels that reconcile and cleanup filter on', () => {
  const labels = registryLabels('school', 'registry-cache', { 'org.berth.registry-upstream': 'https://registry-1.docker.io' });
  assert.equal(labels['org.berth.managed'], 'true');
  assert.equal(labels['org.berth.instance'], 'school');
  assert.equal(labels['org.berth.role'], 'registry-cache');
  assert.equal(labels['org.berth.registry-upstream'], 'https://registry-1.docker.io');
  assert.ok(!Number.isNaN(Date.parse(labels['org.berth.created']!)));
});

test('registry settings: on by default on port 5000 with no upstream; bad values are refused', () => {
  const config = loadConfig({});
  assert.equal(config.registry, 'on');
  assert.equal(config.registryPort, 5000);
  assert.equal(config.registryUpstream, '');
  assert.equal(loadConfig({ BERTH_REGISTRY_UPSTREAM: 'https://registry-1.docker.io' }).registryUpstream, 'https://registry-1.docker.io');
  assert.throws(() => loadConfig({ BERTH_REGISTRY: 'yes' }), /BERTH_REGISTRY:/);
  assert.throws(() => loadConfig({ BERTH_REGISTRY_PORT: '65535' }), /BERTH_REGISTRY_PORT:/, 'the cache needs port + 1');
  assert.throws(() => loadConfig({ BERTH_REGISTRY_UPSTREAM: 'registry-1.docker.io' }), /BERTH_REGISTRY_UPSTREAM:/);
});
