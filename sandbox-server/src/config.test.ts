import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, allowedHosts, allowedOrigins, configWarnings, loadConfig, parseBytes, parseDuration } from './config.ts';

test('defaults load and derive the public URL from the port', () => {
  const config = loadConfig({});
  assert.equal(config.port, 4321);
  assert.equal(config.publicUrl, 'http://localhost:4321');
  assert.equal(config.sandboxMemory, 768 * 1024 * 1024);
  assert.equal(config.idleTimeout, 30 * 60_000);
  assert.deepEqual([...allowedOrigins(config)].sort(), ['http://127.0.0.1:4321', 'http://localhost:4321']);
});

test('sizes and durations parse with units', () => {
  assert.equal(parseBytes(0)('2g'), 2 * 1024 ** 3);
  assert.equal(parseBytes(0)('1.5G'), 1.5 * 1024 ** 3);
  assert.equal(parseBytes(0)('512MiB'), 512 * 1024 ** 2);
  assert.equal(parseBytes(0)('4096'), 4096);
  assert.equal(parseDuration(0)('90s'), 90_000);
  assert.equal(parseDuration(0)('250ms'), 250);
  assert.equal(parseDuration(0)('2h'), 7_200_000);
  assert.throws(() => parseDuration(0)('30'), /duration/);
  assert.throws(() => parseBytes(0)('lots'), /size/);
});

test('a bad value refuses to start and names every bad variable', () => {
  assert.throws(
    () => loadConfig({ BERTH_PORT: 'eighty', BERTH_SANDBOX_MEMORY: '10m', BERTH_IDLE_TIMEOUT: '5m' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /BERTH_PORT: expected a whole number/);
      assert.match(err.message, /BERTH_SANDBOX_MEMORY: expected at least/);
      assert.doesNotMatch(err.message, /BERTH_IDLE_TIMEOUT/);
      return true;
    },
  );
});

test('origins must be bare origins; the public URL is allowed', () => {
  const config = loadConfig({ BERTH_PUBLIC_URL: 'https://docker.school.example/', BERTH_ALLOWED_ORIGINS: 'http://10.0.0.5:4321' });
  assert.equal(config.publicUrl, 'https://docker.school.example');
  const origins = allowedOrigins(config);
  assert.ok(origins.has('https://docker.school.example'));
  assert.ok(origins.has('http://10.0.0.5:4321'));
  assert.throws(() => loadConfig({ BERTH_ALLOWED_ORIGINS: 'http://x.example/path' }), /BERTH_ALLOWED_ORIGINS: .*bare origin/);
  assert.throws(() => loadConfig({ BERTH_PUBLIC_URL: 'ftp://x' }), /BERTH_PUBLIC_URL/);
});

test('instance names are restricted to label-safe characters', () => {
  assert.equal(loadConfig({ BERTH_INSTANCE: 'class-a' }).instance, 'class-a');
  assert.throws(() => loadConfig({ BERTH_INSTANCE: 'Class A' }), /BERTH_INSTANCE/);
});

test('the sandbox network range and the nested engines\' pools must not meet', () => {
  const config = loadConfig({});
  assert.equal(config.sandboxNetworkRange, '198.19.0.0/16');
  // Docker's own pools first, so a learner's first network is 172.18.0.0/16 as in tutorials.
  assert.deepEqual(config.nestedAddressPools.slice(0, 2), [{ base: '172.17.0.0/16', size: 16 }, { base: '172.18.0.0/15', size: 16 }]);
  assert.throws(
    () => loadConfig({ BERTH_SANDBOX_NETWORK_RANGE: '172.18.0.0/16' }),
    (err: unknown) => err instanceof ConfigError && /BERTH_NESTED_ADDRESS_POOLS: 172\.18\.0\.0\/15 overlaps BERTH_SANDBOX_NETWORK_RANGE \(172\.18\.0\.0\/16\)/.test(err.message),
  );
  assert.throws(() => loadConfig({ BERTH_NESTED_ADDRESS_POOLS: '10.0.0.0/8:24' }), /BERTH_NESTED_ADDRESS_POOLS: 10\.0\.0\.0\/8 overlaps 10\.0\.2\.0\/24/);
  assert.throws(() => loadConfig({ BERTH_SANDBOX_NETWORK_RANGE: '10.0.0.0/16' }), /BERTH_SANDBOX_NETWORK_RANGE: 10\.0\.0\.0\/16 overlaps 10\.0\.2\.0\/24/);
  assert.throws(() => loadConfig({ BERTH_SANDBOX_NETWORK_RANGE: '198.19.0.1/16' }), /BERTH_SANDBOX_NETWORK_RANGE: .*host bits/);
  assert.equal(loadConfig({ BERTH_SANDBOX_NETWORK_RANGE: '10.99.0.0/16' }).sandboxNetworkRange, '10.99.0.0/16');
});

test('BERTH_TRUSTED_PROXIES takes IPs and CIDRs; the retired BERTH_TRUST_PROXY=on refuses to start and says what to set', () => {
  assert.deepEqual(loadConfig({}).trustedProxies, []);
  assert.deepEqual(loadConfig({ BERTH_TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8,::1' }).trustedProxies, ['127.0.0.1/32', '10.0.0.0/8', '::1/128']);
  assert.throws(() => loadConfig({ BERTH_TRUSTED_PROXIES: 'proxy.local' }), /BERTH_TRUSTED_PROXIES: expected an IP/);
  assert.throws(() => loadConfig({ BERTH_TRUST_PROXY: 'on' }), (err: Error) => err instanceof ConfigError && /BERTH_TRUST_PROXY: replaced by BERTH_TRUSTED_PROXIES/.test(err.message));
  assert.throws(() => loadConfig({ BERTH_TRUST_PROXY: 'on', BERTH_TRUSTED_PROXIES: '127.0.0.1' }), /remove it/);
  assert.doesNotThrow(() => loadConfig({ BERTH_TRUST_PROXY: 'off' }), 'off was the default: nothing to change');
});

test('risky combinations are warned about at start', () => {
  assert.deepEqual(configWarnings(loadConfig({})), [], 'the laptop default is quiet');
  assert.deepEqual(configWarnings(loadConfig({ BERTH_TRUSTED_PROXIES: '127.0.0.1' })), [], 'a proxy on this host, server on loopback');
  assert.deepEqual(configWarnings(loadConfig({ BERTH_HOST: '0.0.0.0', BERTH_METRICS_TOKEN: 'x' })), [], 'a classroom with a token');
  const exposedProxy = configWarnings(loadConfig({ BERTH_HOST: '0.0.0.0', BERTH_TRUSTED_PROXIES: '10.0.0.0/8', BERTH_METRICS_TOKEN: 'x' }));
  assert.equal(exposedProxy.length, 1);
  assert.match(exposedProxy[0]!, /BERTH_TRUSTED_PROXIES.*BERTH_HOST=0\.0\.0\.0/);
  assert.match(configWarnings(loadConfig({ BERTH_TRUSTED_PROXIES: '0.0.0.0/0' })).join(), /every peer is trusted/);
  assert.match(configWarnings(loadConfig({ BERTH_HOST: '0.0.0.0' })).join(), /without BERTH_METRICS_TOKEN/);
});

test('allowed hosts are the allowed origins\' host[:port]', () => {
  const config = loadConfig({ BERTH_PUBLIC_URL: 'https://Learn.Example.org', BERTH_ALLOWED_ORIGINS: 'http://10.0.0.5:4321' });
  assert.deepEqual([...allowedHosts(allowedOrigins(config))].sort(), ['10.0.0.5:4321', '127.0.0.1:4321', 'learn.example.org', 'localhost:4321']);
});
