import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { guardRequest, guardUpgrade, guarded } from './listener-guard.ts';

const silent = pino({ level: 'silent' });

test('a request listener that throws answers 500 and the server keeps serving', async () => {
  let calls = 0;
  const server = createServer(guardRequest((req, res) => {
    calls += 1;
    if (req.url === '/boom') throw new Error('boom');
    res.end('fine');
  }, silent));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const get = (path: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
    request({ port, path, host: '127.0.0.1' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).end();
  });
  try {
    assert.deepEqual(await get('/boom'), { status: 500, body: '{"error":"internal error"}' });
    assert.deepEqual(await get('/ok'), { status: 200, body: 'fine' });
    assert.equal(calls, 2);
  } finally {
    server.close();
  }
});

test('an upgrade listener that throws destroys that socket only', () => {
  let destroyed = false;
  const socket = { destroy: () => void (destroyed = true) };
  const listener = guardUpgrade(() => {
    throw new Error('boom');
  }, silent);
  assert.doesNotThrow(() => listener({} as never, socket as never, Buffer.alloc(0)));
  assert.equal(destroyed, true);
});

test('guarded passes its arguments and turns a throw into onError', () => {
  const seen: unknown[] = [];
  let failed = 0;
  const f = guarded((a: number, b: string) => {
    seen.push(a, b);
    if (a < 0) throw new Error('negative');
  }, silent, 'test', () => void (failed += 1));
  f(1, 'x');
  assert.doesNotThrow(() => f(-1, 'y'));
  assert.deepEqual(seen, [1, 'x', -1, 'y']);
  assert.equal(failed, 1);
});
