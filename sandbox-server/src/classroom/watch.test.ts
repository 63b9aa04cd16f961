import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { WebSocket } from 'ws';
import { WATCH_PATH, type ServerMessage } from '../protocol.ts';
import { WATCHER_TOO_SLOW, WatchServer } from './watch.ts';

const learner = 'b'.repeat(32);

async function setup() {
  const told: ServerMessage[] = [];
  const typed: Buffer[] = [];
  const watch = new WatchServer({
    instructorOf: () => ({ id: 'i', name: 'I' }),
    canWatch: () => true,
    isAllowedOrigin: () => true,
    log: pino({ level: 'silent' }),
    terminals: {
      screen: () => ({ scrollback: Buffer.from('old output\r\n'), cols: 80, rows: 24 }),
      tell: (_l, msg) => told.push(msg),
      input: (_l, data) => typed.push(data),
    },
  });
  const server = createServer();
  server.on('upgrade', (req, socket, head) => watch.handleUpgrade(req, socket, head));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}${WATCH_PATH}?learner=${learner}`;
  return {
    watch,
    told,
    typed,
    url,
    close: async () => {
      watch.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

test('a watcher that stops reading is closed; sending to it never waits', { timeout: 15_000 }, async () => {
  const { watch, url, close } = await setup();
  const ws = new WebSocket(url);
  await new Promise((resolve) => ws.once('message', resolve)); // the `watching` header
  // The client stops reading: the server's socket fills and its backlog grows.
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const started = performance.now();
  // 16 MiB: far more than the 1 MiB a view may fall behind plus what the kernel's buffers hold.
  for (let i = 0; i < 256; i++) {
    watch.output(learner, chunk);
    if (i % 16 === 0) await new Promise((r) => setTimeout(r, 5));
  }
  const ms = performance.now() - started;
  (ws as unknown as { _socket: { resume(): void } })._socket.resume();
  assert.equal(await closed, WATCHER_TOO_SLOW);
  assert.ok(ms < 5000, `output() kept returning (${ms.toFixed(0)} ms for 256 chunks)`);
  await close();
});

test('a bad message closes only that view, and help input is dropped until help is on', async () => {
  const { url, typed, told, close } = await setup();
  const ws = new WebSocket(url);
  await new Promise((resolve) => ws.once('message', resolve));
  ws.send(Buffer.from('ls\r'), { binary: true });
  ws.send(JSON.stringify({ t: 'help', on: true }));
  await new Promise((resolve) => ws.once('message', resolve)); // help on
  ws.send(Buffer.from('pwd\r'), { binary: true });
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(typed.map(String), ['pwd\r']);
  assert.deepEqual(told.at(-1), { t: 'watchers', watchers: [{ name: 'I', helping: true }] });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.send('{"t":"help","on":"yes"}');
  assert.equal(await closed, 4000);
  await close();
});
