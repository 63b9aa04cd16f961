/**
 * Attacks on the terminal socket and the HTTP front door, against a real server
 * with real sandboxes: oversized and fragmented frames, slow and half-open
 * upgrades, a client that stops reading while its sandbox prints at full speed,
 * and per-address rate limits. The server runs in this process, so its memory
 * is measured directly (RSS, printed). Refusals of bad Origins and cookies are in
 * tests/integration/socket-security.test.ts; this adds the tampered cookie.
 *
 * Every client uses its own loopback source address (127.0.0.x): the server
 * tells clients apart by address, as it would learners on a network.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocket } from 'ws';
import { CloseCode, MAX_FRAME_BYTES, TERMINAL_PATH } from '../../sandbox-server/src/protocol.ts';
import { startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';

const HEADERS_TIMEOUT_MS = 2000;
const MiB = 1024 * 1024;
const rssMiB = () => Math.round((process.memoryUsage().rss / MiB) * 10) / 10;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
/** Memory the process still holds after a full GC (heap + buffers): freed garbage does not count, unlike RSS. */
const heldMiB = () => {
  gc();
  const m = process.memoryUsage();
  return Math.round(((m.heapUsed + m.arrayBuffers) / MiB) * 10) / 10;
};
let nextAddress = 10;
/** A fresh loopback source address, so each test has its own rate-limit buckets. */
const freshAddress = () => `127.0.0.${nextAddress++}`;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** GET with a chosen source address (fetch cannot bind one). */
function get(port: number, path: string, from: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress: from, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function learnerFrom(port: number, from: string): Promise<string> {
  const res = await get(port, '/api/session', from);
  assert.equal(res.status, 200, res.body);
  return String(res.headers['set-cookie']).split(';')[0]!;
}

/** A TCP connection from `from`; `data` collects everything the server sends. */
function rawConnect(port: number, from: string): Promise<{ socket: Socket; data: () => Buffer; ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress: from });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const ended = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, data: () => Buffer.concat(chunks), ended }));
    socket.once('error', reject);
  });
}

/** Upgrades a raw socket to the terminal WebSocket, so tests can write frames ws would never send. */
async function rawUpgrade(berth: TestBerth, cookie: string, from: string) {
  const conn = await rawConnect(berth.port, from);
  conn.socket.write(
    `GET ${TERMINAL_PATH} HTTP/1.1\r\nHost: localhost:${berth.port}\r\nOrigin: ${berth.origin}\r\nCookie: ${cookie}\r\n` +
      `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
  );
  const deadline = Date.now() + 5000;
  while (!conn.data().includes('\r\n\r\n')) {
    if (Date.now() > deadline) throw new Error('no upgrade response');
    await sleep(10);
  }
  const text = conn.data().toString('latin1');
  assert.match(text, /^HTTP\/1\.1 101 /, text.slice(0, 200));
  const headerBytes = text.indexOf('\r\n\r\n') + 4;
  return { ...conn, frames: () => parseFrames(conn.data().subarray(headerBytes)) };
}

/** A masked client frame (RFC 6455 5.2). */
function frame(opcode: number, payload: Buffer, fin = true, claimedLength = payload.length): Buffer {
  let header: Buffer;
  if (claimedLength < 126) header = Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | claimedLength]);
  else if (claimedLength < 65536) {
    header = Buffer.alloc(4);
    header.writeUInt16BE(claimedLength, 2);
    header[1] = 0x80 | 126;
  } else {
    header = Buffer.alloc(10);
    header.writeBigUInt64BE(BigInt(claimedLength), 2);
    header[1] = 0x80 | 127;
  }
  header[0] = (fin ? 0x80 : 0) | opcode;
  const mask = randomBytes(4);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i]! ^= mask[i % 4]!;
  return Buffer.concat([header, mask, masked]);
}

/** Server frames (unmasked) as opcode + payload; a trailing partial frame is ignored. */
function parseFrames(buf: Buffer): { opcode: number; payload: Buffer }[] {
  const out: { opcode: number; payload: Buffer }[] = [];
  let i = 0;
  while (i + 2 <= buf.length) {
    let len = buf[i + 1]! & 0x7f;
    let at = i + 2;
    if (len === 126) {
      if (at + 2 > buf.length) break;
      len = buf.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      if (at + 8 > buf.length) break;
      len = Number(buf.readBigUInt64BE(at));
      at += 8;
    }
    if (at + len > buf.length) break;
    out.push({ opcode: buf[i]! & 0x0f, payload: buf.subarray(at, at + len) });
    i = at + len;
  }
  return out;
}

async function closeCode(frames: () => { opcode: number; payload: Buffer }[], timeoutMs = 5000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const close = frames().find((f) => f.opcode === 8);
    if (close) return close.payload.readUInt16BE(0);
    if (Date.now() > deadline) throw new Error(`no close frame within ${timeoutMs} ms`);
    await sleep(20);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes `total` bytes in chunks, stopping quietly when the server has hung up. */
async function pump(socket: Socket, chunk: Buffer, total: number): Promise<number> {
  let sent = 0;
  while (sent < total && !socket.destroyed) {
    const ok = socket.write(chunk);
    sent += chunk.length;
    if (!ok) {
      const drained = await Promise.race([new Promise<boolean>((r) => socket.once('drain', () => r(true))), sleep(2000).then(() => false)]);
      if (!drained) break; // the server stopped reading
    }
  }
  return sent;
}

describe('adversarial: terminal socket and HTTP front door', () => {
  let berth: TestBerth;

  before(async () => {
    berth = await startTestBerth(
      testConfig({
        BERTH_REGISTRY: 'off',
        BERTH_HEADERS_TIMEOUT: `${HEADERS_TIMEOUT_MS}ms`,
        BERTH_RATE_SESSIONS: '5/min',
        BERTH_RATE_SANDBOXES: '1/min',
        BERTH_RATE_API: '30/min',
      }),
    );
  });
  after(async () => {
    await berth?.destroy();
  });

  const healthy = async () => {
    const res = await get(berth.port, '/healthz', freshAddress());
    assert.equal(res.status, 200, res.body);
  };

  test('a frame claiming 1 GiB is refused from its header: closed with 1009, memory flat', async () => {
    const from = freshAddress();
    const cookie = await learnerFrom(berth.port, from);
    const before = rssMiB();
    const sockets = [];
    for (let i = 0; i < 4; i++) {
      const ws = await rawUpgrade(berth, cookie, from);
      // Header says 1 GiB; then 64 MiB of it, which a buffering server would hold.
      ws.socket.write(frame(2, Buffer.alloc(0), true, 1024 * MiB));
      const sent = await pump(ws.socket, Buffer.alloc(MiB, 0x61), 64 * MiB);
      assert.equal(await closeCode(ws.frames), 1009);
      sockets.push({ ws, sent });
    }
    const grew = rssMiB() - before;
    console.log(`# 4 sockets claimed 1 GiB frames and wrote ${sockets.map((s) => Math.round(s.sent / MiB)).join('/')} MiB: RSS ${before} -> ${rssMiB()} MiB (+${grew.toFixed(1)})`);
    assert.ok(grew < 48, `server memory grew ${grew} MiB`);
    for (const s of sockets) s.ws.socket.destroy();
    await healthy();
  });

  test('continuation frames add up to the 64 KiB cap: beyond it the socket is closed with 1009', async () => {
    const from = freshAddress();
    const cookie = await learnerFrom(berth.port, from);
    const ws = await rawUpgrade(berth, cookie, from);
    const kib = Buffer.alloc(1024, 0x61);
    ws.socket.write(frame(2, kib, false));
    for (let i = 0; i < MAX_FRAME_BYTES / 1024 + 8; i++) ws.socket.write(frame(0, kib, false));
    assert.equal(await closeCode(ws.frames), 1009);
    ws.socket.destroy();
  });

  test('a flood of tiny continuation frames is cut at the fragment cap (1008); memory stays flat', async () => {
    const from = freshAddress();
    const cookie = await learnerFrom(berth.port, from);
    const before = rssMiB();
    const socks = [];
    // Per socket: up to 200,000 empty fragments of one never-finished message (1.2 MB on the wire).
    const empty = frame(0, Buffer.alloc(0), false);
    const oneByte = frame(0, Buffer.from('a'), false);
    for (let s = 0; s < 8; s++) {
      const ws = await rawUpgrade(berth, cookie, from);
      ws.socket.write(frame(2, Buffer.alloc(0), false));
      await pump(ws.socket, Buffer.concat(Array(1000).fill(s % 2 ? oneByte : empty)), 200_000 * empty.length);
      socks.push(ws);
    }
    const codes = await Promise.all(socks.map((ws) => closeCode(ws.frames)));
    const grew = rssMiB() - before;
    console.log(`# 8 sockets flooding empty or one-byte fragments: close codes ${[...new Set(codes)].join(',')}; RSS ${before} -> ${rssMiB()} MiB (+${grew.toFixed(1)})`);
    assert.deepEqual(new Set(codes), new Set([1008]));
    assert.ok(grew < 32, `server memory grew ${grew} MiB`);
    for (const ws of socks) ws.socket.destroy();
    await healthy();
  });

  test('a tampered copy of a real cookie is refused with 401', async () => {
    const cookie = await learnerFrom(berth.port, freshAddress());
    const [name, value] = cookie.split('=') as [string, string];
    const flipped = value.slice(0, -1) + (value.at(-1) === 'A' ? 'B' : 'A');
    const t = new TestTerminal(berth.origin, { cookie: `${name}=${flipped}`, hello: false });
    await assert.rejects(t.opened, /401/);
    t.ws.terminate();
  });

  test('a slow upgrade (headers a byte at a time) is cut off after the headers timeout', async () => {
    const conn = await rawConnect(berth.port, freshAddress());
    const began = Date.now();
    const text = `GET ${TERMINAL_PATH} HTTP/1.1\r\nHost: localhost\r\nOrigin: ${berth.origin}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Padding: ${'x'.repeat(400)}\r\n`;
    let i = 0;
    const dribble = setInterval(() => {
      if (!conn.socket.destroyed && i < text.length) conn.socket.write(text[i++]!);
    }, 50);
    await Promise.race([conn.ended, sleep(HEADERS_TIMEOUT_MS + 5000)]);
    clearInterval(dribble);
    const took = Date.now() - began;
    console.log(`# slow upgrade: cut after ${took} ms having sent ${i} bytes; server said ${JSON.stringify(conn.data().toString().split('\r\n')[0])}`);
    assert.ok(conn.socket.destroyed || conn.socket.readableEnded, 'the server closed the connection');
    assert.ok(took >= HEADERS_TIMEOUT_MS - 100 && took < HEADERS_TIMEOUT_MS + 3000, `cut after ${took} ms`);
    assert.match(conn.data().toString(), /^HTTP\/1\.1 408/);
  });

  test('hundreds of half-open connections are all cut, memory stays bounded, real clients still get in', async () => {
    const before = rssMiB();
    const conns = [];
    for (let i = 0; i < 400; i++) {
      const conn = await rawConnect(berth.port, `127.0.1.${1 + (i % 200)}`);
      // Half the sockets send part of a request line, half send nothing at all.
      if (i % 2) conn.socket.write(`GET ${TERMINAL_PATH} HTTP/1.1\r\nHost: loc`);
      conns.push(conn);
    }
    const during = rssMiB();
    await healthy(); // still serving
    const allClosed = Promise.all(conns.map((c) => c.ended));
    const began = Date.now();
    const done = await Promise.race([allClosed.then(() => true), sleep(HEADERS_TIMEOUT_MS + 4000).then(() => false)]);
    const open = conns.filter((c) => !c.socket.destroyed).length;
    console.log(`# 400 half-open connections: RSS ${before} -> ${during} MiB; all closed ${done} (${Date.now() - began} ms later, ${open} open)`);
    assert.ok(done, `${open} connections were still open`);
    assert.ok(during - before < 64, `server memory grew ${during - before} MiB`);
  });

  test('rate limit: a burst of new sessions from one address gets 429 with Retry-After; another address does not', async () => {
    const from = freshAddress();
    const statuses = [];
    let refused: Reply | undefined;
    for (let i = 0; i < 8; i++) {
      const res = await get(berth.port, '/api/session', from);
      statuses.push(res.status);
      if (res.status === 429) refused ??= res;
    }
    console.log(`# 8 new sessions from one address (limit 5/min): ${statuses.join(' ')}`);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
    assert.ok(Number(refused!.headers['retry-after']) >= 1, 'Retry-After in seconds');
    assert.match(JSON.parse(refused!.body).error, /too many new learners.*retry in \d+ s/);
    // A learner who already has a cookie is not a new one: still served.
    const cookie = await learnerFrom(berth.port, freshAddress());
    assert.equal((await get(berth.port, '/api/session', from, { Cookie: cookie })).status, 200);
    assert.equal((await get(berth.port, '/api/session', freshAddress())).status, 200, 'another address has its own allowance');
  });

  test('rate limit: /api/* calls per address get 429 past the limit; the site itself is not limited', async () => {
    const from = freshAddress();
    const cookie = await learnerFrom(berth.port, from);
    const statuses = new Map<number, number>();
    for (let i = 0; i < 40; i++) {
      const s = (await get(berth.port, '/api/progress', from, { Cookie: cookie })).status;
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
    console.log(`# 40 /api/progress calls (limit 30/min, one used by the session): ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.equal(statuses.get(200), 29);
    assert.equal(statuses.get(429), 11);
    assert.notEqual((await get(berth.port, '/healthz', from)).status, 429);
    assert.notEqual((await get(berth.port, '/', from)).status, 429);
  });

  test('a client that stops reading while its sandbox prints at full speed: server memory bounded, rate limit on new sandboxes', async () => {
    const from = freshAddress();
    const cookie = await learnerFrom(berth.port, from);
    const t = new TestTerminal(berth.origin, { cookie });
    await t.waitForState('ready', 90_000);
    await t.run('echo warm');
    const before = rssMiB();
    t.send('yes berth-flood-line | head -c 300M | wc -c\r');
    await t.waitForOutput(/berth-flood-line/, 10_000);
    // Stop reading: TCP backpressure builds up to the server's socket buffer.
    const raw = (t.ws as unknown as { _socket: Socket })._socket;
    raw.pause();
    let peak = before;
    for (let i = 0; i < 20; i++) {
      await sleep(500);
      peak = Math.max(peak, rssMiB());
    }
    const received = t.outputBytes;
    console.log(`# paused reader, 10 s of 'yes': RSS ${before} -> peak ${peak} MiB (+${(peak - before).toFixed(1)}); client had ${Math.round(received / 1024)} KiB`);
    assert.ok(peak - before < 64, `server memory grew ${peak - before} MiB while the client did not read`);
    raw.resume();
    t.send('\x03');
    await t.waitForOutput(/\^C/, 30_000);
    await sleep(1000); // let the prompt come back before typing
    assert.ok(t.outputBytes < 300 * MiB, 'the shell was held back: 300 MB were not produced in 10 s of a paused reader');
    t.clearOutput();
    assert.match(await t.run('echo alive-$((6*7))'), /alive-42/);

    // The other way: input flooding a shell that does not read it (a foreground `sleep`).
    t.send('sleep 600\r');
    await sleep(300);
    const inputBefore = heldMiB();
    const rssBefore = rssMiB();
    const frameOf64k = Buffer.alloc(MAX_FRAME_BYTES, 0x61);
    let sentInput = 0;
    for (let i = 0; i < 60; i++) {
      // 150 frames a second stays under the per-socket frame rate; 64 KiB each is 9.6 MB/s.
      for (let f = 0; f < 15 && t.ws.readyState === WebSocket.OPEN; f++) {
        t.ws.send(frameOf64k, { binary: true });
        sentInput += frameOf64k.length;
      }
      await sleep(100);
    }
    await sleep(1000);
    const inputAfter = heldMiB();
    const inputGrew = inputAfter - inputBefore;
    console.log(`# ${Math.round(sentInput / MiB)} MiB of input to a shell that does not read: held heap+buffers ${inputBefore} -> ${inputAfter} MiB (+${inputGrew.toFixed(1)}; the cap is 4 MiB), RSS ${rssBefore} -> ${rssMiB()} MiB`);
    assert.ok(inputGrew < 16, `the server holds ${inputGrew} MiB more of input the shell did not read`);
    t.send('\x03');
    await sleep(1000);
    t.clearOutput();
    assert.match(await t.run('echo still-$((6*7))'), /still-42/);

    // Same address, a second learner's first terminal would create a second sandbox: over 1/min.
    const second = await learnerFrom(berth.port, from);
    const refused = new TestTerminal(berth.origin, { cookie: second });
    const closed = await refused.waitForClose();
    console.log(`# second new sandbox from the same address: closed ${closed.code} "${closed.reason}"`);
    assert.equal(closed.code, CloseCode.RateLimited);
    assert.match(closed.reason, /too many new sandboxes.*retry in \d+ s/);
    // Reconnecting to the sandbox that exists is not a creation.
    const again = new TestTerminal(berth.origin, { cookie });
    await again.waitForState('ready', 30_000);
    again.close();
    t.close();
  });
});

describe('adversarial: behind a trusted proxy', () => {
  let berth: TestBerth;
  before(async () => {
    berth = await startTestBerth(testConfig({ BERTH_REGISTRY: 'off', BERTH_TRUSTED_PROXIES: '127.0.0.9', BERTH_RATE_SESSIONS: '2/min', BERTH_RATE_API: '4/min' }));
  });
  after(async () => {
    await berth?.destroy();
  });

  test('clients are told apart by the X-Forwarded-For entry the proxy added, not the one they claim', async () => {
    const from = '127.0.0.9';
    const session = (xff: string) => get(berth.port, '/api/session', from, { 'X-Forwarded-For': xff }).then((r) => r.status);
    const a = [await session('203.0.113.1'), await session('203.0.113.1'), await session('203.0.113.1')];
    assert.deepEqual(a, [200, 200, 429]);
    // The proxy appends the real peer last; a forged first entry does not buy a new allowance.
    assert.equal(await session('198.51.100.77, 203.0.113.1'), 429);
    assert.equal(await session('203.0.113.2'), 200, 'another client behind the proxy');
    // /metrics: the proxied client is not loopback, even though the socket is.
    const metrics = await get(berth.port, '/metrics', from, { 'X-Forwarded-For': '203.0.113.1' });
    assert.equal(metrics.status, 403);
  });

  test('terminal connections count against the forwarded address\'s API allowance (4029 past it)', async () => {
    const from = '127.0.0.9';
    const cookieFor = async (xff: string) => String((await get(berth.port, '/api/session', from, { 'X-Forwarded-For': xff })).headers['set-cookie']).split(';')[0]!;
    const connect = async (cookie: string, xff: string) => {
      const ws = new WebSocket(berth.origin.replace('http', 'ws') + TERMINAL_PATH, { headers: { Cookie: cookie, 'X-Forwarded-For': xff }, origin: berth.origin, localAddress: from });
      ws.on('error', () => {});
      const code = await new Promise<number>((resolve) => {
        ws.once('close', (c) => resolve(c));
        ws.once('open', () => setTimeout(() => resolve(0), 300)); // 0: still open
      });
      ws.terminate();
      return code;
    };
    const cookie = await cookieFor('203.0.113.50'); // 1 of 4
    const codes = [await connect(cookie, '203.0.113.50'), await connect(cookie, '203.0.113.50'), await connect(cookie, '203.0.113.50'), await connect(cookie, '203.0.113.50')];
    console.log(`# 4 terminal connections after a session (API limit 4/min): close codes ${codes.join(' ')} (0 = accepted)`);
    assert.deepEqual(codes, [0, 0, 0, CloseCode.RateLimited]);
    const other = await cookieFor('203.0.113.51');
    assert.equal(await connect(other, '203.0.113.51'), 0, 'another client behind the same proxy');
  });
});
