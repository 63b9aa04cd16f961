import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Metrics, metricsAccess } from './metrics.ts';
import type { SandboxRuntime } from './runtime/types.ts';

test('scrapes read sandbox states, queue and open terminals from their sources', async () => {
  const m = new Metrics();
  let counts: Record<string, number> = { ready: 2, creating: 1 };
  m.watch({ manager: { countsByState: () => counts, queueLength: () => 4 }, openTerminals: () => 3 });
  let text = await m.registry.metrics();
  assert.match(text, /^berth_sandboxes\{state="ready"\} 2$/m);
  assert.match(text, /^berth_sandboxes\{state="creating"\} 1$/m);
  assert.match(text, /^berth_sandbox_queue_length 4$/m);
  assert.match(text, /^berth_terminal_sessions 3$/m);
  assert.match(text, /^process_resident_memory_bytes \d+/m);
  counts = { stopped: 1 };
  text = await m.registry.metrics();
  assert.doesNotMatch(text, /state="ready"/, 'states that emptied disappear');
  assert.match(text, /^berth_sandboxes\{state="stopped"\} 1$/m);
});

test('a manager without a queue reports 0', async () => {
  const m = new Metrics();
  m.watch({ manager: { countsByState: () => ({}) }, openTerminals: () => 0 });
  assert.match(await m.registry.metrics(), /^berth_sandbox_queue_length 0$/m);
});

test('the instrumented runtime counts rejected calls by operation and passes results through', async () => {
  const m = new Metrics();
  const fake = {
    ping: async () => true,
    start: async (_id: string) => {
      throw new Error('engine gone');
    },
  } as unknown as SandboxRuntime;
  const rt = m.instrument(fake);
  assert.equal(await rt.ping(), true);
  await assert.rejects(rt.start('x'), /engine gone/);
  await assert.rejects(rt.start('y'), /engine gone/);
  await new Promise((r) => setImmediate(r));
  assert.match(await m.registry.metrics(), /^berth_engine_errors_total\{operation="start"\} 2$/m);
  assert.doesNotMatch(await m.registry.metrics(), /operation="ping"/);
});

const withAuth = (authorization?: string) => ({ headers: authorization ? { authorization } : {} }) as unknown as IncomingMessage;

test('metrics access: loopback only without a token; with one, only its bearer', () => {
  assert.deepEqual(metricsAccess(withAuth(), '127.0.0.1', ''), { ok: true });
  assert.deepEqual(metricsAccess(withAuth(), '::1', ''), { ok: true });
  assert.equal(metricsAccess(withAuth(), '10.0.0.5', '').ok, false);
  assert.equal(metricsAccess(withAuth(), '127.0.0.1', 's3cret').ok, false, 'a token, once set, is needed from loopback too');
  assert.deepEqual(metricsAccess(withAuth('Bearer s3cret'), '10.0.0.5', 's3cret'), { ok: true });
  assert.equal(metricsAccess(withAuth('Bearer s3cre'), '10.0.0.5', 's3cret').ok, false);
  assert.equal(metricsAccess(withAuth('Basic s3cret'), '10.0.0.5', 's3cret').ok, false);
});

test('metrics access: without a token, a request with a forwarding header is refused even from loopback', () => {
  const forwarded = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
  assert.equal(metricsAccess(forwarded({ 'x-forwarded-for': '127.0.0.1' }), '127.0.0.1', '').ok, false, 'a spoofed or proxied XFF');
  assert.equal(metricsAccess(forwarded({ forwarded: 'for=127.0.0.1' }), '127.0.0.1', '').ok, false, 'RFC 7239 Forwarded');
  assert.deepEqual(metricsAccess(forwarded({ 'x-forwarded-for': '203.0.113.1', authorization: 'Bearer s3cret' }), '203.0.113.1', 's3cret'), { ok: true }, 'the token still works through a proxy');
});
