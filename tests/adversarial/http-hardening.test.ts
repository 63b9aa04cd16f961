/**
 * The HTTP surface against a hostile client, on a real server: forged forwarding
 * headers buy neither new allowances nor /metrics; a page on another name (DNS
 * rebinding) is not answered; the security headers and the __Host- cookie are in
 * place; "forget me" deletes the learner and their sandbox; the engine's words
 * stay in the log; nothing a client sends reaches the log before the limits.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { CloseCode, TERMINAL_PATH } from '../../sandbox-server/src/protocol.ts';
import { handleOf } from '../../sandbox-server/src/identity.ts';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request from a chosen loopback source address, with any headers (Host included). */
function http(port: number, path: string, opts: { from?: string; method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', localAddress: opts.from ?? '127.0.0.1', headers: opts.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The status line a raw terminal upgrade gets. */
function upgradeStatus(port: number, host: string, origin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('no answer to the upgrade')));
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.on('connect', () =>
      socket.write(
        `GET ${TERMINAL_PATH} HTTP/1.1\r\nHost: ${host}\r\nOrigin: ${origin}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
      ),
    );
  });
}

/** A logger that keeps every line, to check what a server logged. */
function collectingLogger(level = 'info'): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const log = pino({ level }, { write: (line: string) => void lines.push(line) });
  return { log, lines };
}

const cookieOf = (reply: Reply, name: string): string | undefined =>
  ([] as string[]).concat(reply.headers['set-cookie'] ?? []).find((c) => c.startsWith(`${name}=`));

describe('adversarial: a direct client, a trusted proxy, and forged headers', () => {
  let berth: TestBerth;
  const logged = collectingLogger();
  const PROXY = '127.0.0.200';
  before(async () => {
    berth = await startTestBerth(testConfig({ BERTH_REGISTRY: 'off', BERTH_TRUSTED_PROXIES: PROXY, BERTH_RATE_SESSIONS: '3/min' }), logged.log);
  });
  after(async () => {
    await berth?.destroy();
  });

  test('clients behind the trusted proxy each get their own allowance; the proxy\'s entry is the one believed', async () => {
    const via = (xff: string) => http(berth.port, '/api/session', { from: PROXY, headers: { 'X-Forwarded-For': xff } }).then((r) => r.status);
    const a = [await via('203.0.113.1'), await via('203.0.113.1'), await via('203.0.113.1'), await via('203.0.113.1')];
    assert.deepEqual(a, [200, 200, 200, 429]);
    assert.equal(await via('198.51.100.99, 203.0.113.1'), 429, 'a forged left entry does not buy a new allowance');
    assert.equal(await via('203.0.113.2'), 200, 'another client behind the same proxy has its own');
  });

  test('a direct client rotating X-Forwarded-For gets one allowance, not one per header', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      statuses.push((await http(berth.port, '/api/session', { from: '127.0.0.9', headers: { 'X-Forwarded-For': `198.51.100.${i + 1}` } })).status);
    }
    const minted = statuses.filter((s) => s === 200).length;
    console.log(`# 20 sessions from one direct client, each with a new X-Forwarded-For: ${minted} cookies, ${statuses.length - minted} refused`);
    assert.equal(minted, 3, statuses.join(' '));
  });

  test('/metrics refuses any request with a forwarding header (no token set), even from loopback', async () => {
    assert.equal((await http(berth.port, '/metrics')).status, 200, 'loopback, no forwarding header: the operator');
    const spoofed = await http(berth.port, '/metrics', { headers: { 'X-Forwarded-For': '127.0.0.1' } });
    assert.equal(spoofed.status, 403, 'X-Forwarded-For: 127.0.0.1 from a direct client');
    assert.match(JSON.parse(spoofed.body).error, /BERTH_METRICS_TOKEN/);
    assert.equal((await http(berth.port, '/metrics', { headers: { Forwarded: 'for=127.0.0.1' } })).status, 403, 'RFC 7239 Forwarded');
    assert.equal((await http(berth.port, '/metrics', { from: PROXY, headers: { 'X-Forwarded-For': '127.0.0.1' } })).status, 403, 'through the proxy');
  });

  test('a page on another host name (DNS rebinding) gets 421, and no cookie; our own names and /healthz are answered', async () => {
    const evil = `rebind.evil.example:${berth.port}`;
    for (const path of ['/', '/lessons/00-welcome/', '/api/session', '/api/progress', '/metrics']) {
      const reply = await http(berth.port, path, { from: '127.0.0.20', headers: { Host: evil } });
      assert.equal(reply.status, 421, `${path} with Host ${evil}`);
      assert.equal(reply.headers['set-cookie'], undefined, `${path}: no cookie for another name`);
    }
    assert.match(await upgradeStatus(berth.port, evil, berth.origin), /^HTTP\/1\.1 421 /, 'the terminal upgrade too');
    for (const host of [`localhost:${berth.port}`, `127.0.0.1:${berth.port}`, `LOCALHOST:${berth.port}`]) {
      assert.equal((await http(berth.port, '/api/session', { from: '127.0.0.21', headers: { Host: host } })).status, 200, host);
    }
    assert.equal((await http(berth.port, '/healthz', { headers: { Host: '10.9.8.7:1234' } })).status, 200, 'probes by IP still see the health');
  });

  test('pages carry a full CSP (own scripts, the terminal socket on the page\'s host) and COOP; no HSTS over http', async () => {
    const reply = await http(berth.port, '/', { headers: { Host: `127.0.0.1:${berth.port}` } });
    const csp = String(reply.headers['content-security-policy']);
    for (const directive of ["default-src 'self'", "script-src 'self'", `connect-src 'self' ws://127.0.0.1:${berth.port}`, "img-src 'self' data:", "frame-ancestors 'none'"]) {
      assert.ok(csp.includes(directive), `${directive} in ${csp}`);
    }
    assert.equal(reply.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(reply.headers['strict-transport-security'], undefined);
  });

  test('the data directory is 700 and the database 600', () => {
    const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
    const db = join(berth.config.dataDir, 'berth.db');
    assert.deepEqual([mode(berth.config.dataDir), mode(db), mode(`${db}-wal`)], ['700', '600', '600']);
  });

  test('/healthz: a burst of 300 health checks is answered from one shared engine ping', async () => {
    // Count the engine pings the server makes (the real ping still runs).
    const runtime = berth.runtime;
    const realPing = runtime.ping.bind(runtime);
    let pings = 0;
    runtime.ping = () => {
      pings++;
      return realPing();
    };
    await new Promise((r) => setTimeout(r, 1100)); // past any answer cached before
    const began = Date.now();
    const statuses = await Promise.all(Array.from({ length: 300 }, () => http(berth.port, '/healthz').then((r) => r.status)));
    const took = Date.now() - began;
    runtime.ping = realPing;
    console.log(`# 300 concurrent /healthz: answered in ${took} ms with ${pings} engine pings`);
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.ok(pings <= Math.ceil(took / 1000) + 1, `${pings} pings in ${took} ms`);
  });

  test('refused origins and malformed messages do not put the client\'s text in the log', async () => {
    const marker = `m${randomBytes(6).toString('hex')}`;
    const before = logged.lines.length;
    for (let i = 0; i < 30; i++) {
      const status = await upgradeStatus(berth.port, `localhost:${berth.port}`, `http://${marker}-${i}.evil.example`);
      assert.match(status, /^HTTP\/1\.1 403 /);
    }
    const session = await http(berth.port, '/api/session', { from: '127.0.0.40' });
    const cookie = cookieOf(session, 'berth_learner')!.split(';')[0]!;
    const t = new TestTerminal(berth.origin, { cookie, hello: false });
    await t.opened;
    t.control({ t: 'hello', cols: 80, rows: 24, [`${marker}_key`]: 1 });
    assert.equal((await t.waitForClose()).code, CloseCode.BadMessage);
    await new Promise((r) => setTimeout(r, 200));
    const lines = logged.lines.slice(before);
    const refusals = lines.filter((l) => l.includes('origin not allowed')).length;
    console.log(`# 30 refused upgrades and a bad message: ${lines.length} log lines, ${refusals} about origins`);
    assert.deepEqual(lines.filter((l) => l.includes(marker)), [], 'no client text in the log');
    assert.ok(refusals <= 1, `${refusals} lines about refused origins`);
  });

  test('"forget me": POST /api/forget (our origin only) deletes the learner, their progress and their sandbox, and the cookie', async () => {
    const session = await http(berth.port, '/api/session', { from: '127.0.0.30' });
    const cookie = cookieOf(session, 'berth_learner')!.split(';')[0]!;
    const handle = handleOf(cookie.split('=')[1]!);
    const t = new TestTerminal(berth.origin, { cookie });
    await t.waitForState('ready', 90_000);
    await t.run('echo kept > ~/mine');
    assert.equal((await berth.runtime.listSandboxes()).filter((s) => s.learner === handle).length, 1);

    assert.equal((await http(berth.port, '/api/forget', { method: 'POST', headers: { Cookie: cookie } })).status, 403, 'no Origin: a cross-site form');
    assert.equal((await http(berth.port, '/api/forget', { method: 'POST', headers: { Cookie: cookie, Origin: 'http://evil.example' } })).status, 403);
    assert.equal((await http(berth.port, '/api/progress', { headers: { Cookie: cookie } })).status, 200, 'still known after the refusals');

    const forgot = await http(berth.port, '/api/forget', { method: 'POST', headers: { Cookie: cookie, Origin: berth.origin } });
    assert.equal(forgot.status, 204, forgot.body);
    assert.match(cookieOf(forgot, 'berth_learner') ?? '', /^berth_learner=;.*Max-Age=0/, 'the browser drops the cookie');
    assert.equal((await http(berth.port, '/api/progress', { headers: { Cookie: cookie } })).status, 401, 'the old cookie names nobody');
    assert.deepEqual((await berth.runtime.listSandboxes()).filter((s) => s.learner === handle), [], 'the sandbox is gone');
    assert.deepEqual((await berth.runtime.listVolumes()).filter((v) => v.learner === handle), [], 'and its data volume');
    await t.waitForState('stopped', 10_000);
    t.close();
    const again = new TestTerminal(berth.origin, { cookie });
    await assert.rejects(again.opened, /401/, 'a copy of the cookie opens no terminal');
    again.ws.terminate();
  });
});

describe('adversarial: served over https', () => {
  let berth: TestBerth;
  const PUBLIC = 'learn.example.test';
  before(async () => {
    berth = await startTestBerth(testConfig({ BERTH_REGISTRY: 'off', BERTH_PUBLIC_URL: `https://${PUBLIC}` }));
  });
  after(async () => {
    await berth?.destroy();
  });

  test('the cookie is __Host- prefixed and Secure; HSTS and a wss: connect-src on the public host only', async () => {
    const reply = await http(berth.port, '/api/session', { headers: { Host: PUBLIC } });
    const set = cookieOf(reply, '__Host-berth_learner') ?? '';
    assert.match(set, /^__Host-berth_learner=[A-Za-z0-9_-]{22}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=2592000; Secure$/);
    assert.equal(reply.headers['strict-transport-security'], 'max-age=31536000');
    assert.match(String(reply.headers['content-security-policy']), new RegExp(`connect-src 'self' wss://${PUBLIC.replace(/\./g, '\\.')}`));
    const local = await http(berth.port, '/', { headers: { Host: `localhost:${berth.port}` } });
    assert.equal(local.headers['strict-transport-security'], undefined, 'not on the plain-http local name');
  });

  test('a learner from before the prefix keeps their identity and moves to the __Host- cookie; a planted plain cookie of a newer id does not', async () => {
    const oldId = 'AAAAAAAAAAAAAAAAAAAAAA';
    const since = berth.store.hostCookieSince();
    berth.store.db.prepare('INSERT INTO learners (handle, created_at, last_seen_at) VALUES (?, ?, ?)').run(handleOf(oldId), since - 86_400_000, since - 86_400_000);
    const moved = await http(berth.port, '/api/session', { headers: { Host: PUBLIC, Cookie: `berth_learner=${oldId}` } });
    assert.equal(moved.status, 200);
    assert.equal(JSON.parse(moved.body).learner, handleOf(oldId).slice(0, 8), 'the same learner');
    assert.match(cookieOf(moved, '__Host-berth_learner') ?? '', new RegExp(`^__Host-berth_learner=${oldId};`));
    assert.match(cookieOf(moved, 'berth_learner') ?? '', /^berth_learner=;.*Max-Age=0/, 'the old name is cleared');

    // An attacker on a sibling subdomain plants their own (new, prefixed-era) id under the plain name.
    const attacker = cookieOf(await http(berth.port, '/api/session', { headers: { Host: PUBLIC } }), '__Host-berth_learner')!.split(';')[0]!.split('=')[1]!;
    const victim = await http(berth.port, '/api/session', { headers: { Host: PUBLIC, Cookie: `berth_learner=${attacker}` } });
    assert.notEqual(JSON.parse(victim.body).learner, handleOf(attacker).slice(0, 8), 'the victim is not put in the attacker\'s sandbox');
    assert.doesNotMatch(cookieOf(victim, '__Host-berth_learner') ?? '', new RegExp(attacker));
  });
});

describe('adversarial: a start the engine refuses', () => {
  let berth: TestBerth;
  const logged = collectingLogger();
  before(async () => {
    // More CPUs than the host has: the engine refuses the container with its own words.
    berth = await startTestBerth(testConfig({ BERTH_REGISTRY: 'off', BERTH_SANDBOX_CPUS: '64' }), logged.log);
  });
  after(async () => {
    await berth?.destroy();
  });

  test('the page gets a reference, the log gets the engine\'s error under it', async () => {
    const reply = await http(berth.port, '/api/session');
    const cookie = cookieOf(reply, 'berth_learner')!.split(';')[0]!;
    const t = new TestTerminal(berth.origin, { cookie });
    await t.waitForState('failed', 60_000);
    const status = t.messages.findLast((m) => m.t === 'status');
    t.close();
    const message = status && 'message' in status ? String(status.message) : '';
    console.log(`# the page was told: ${JSON.stringify(message)}`);
    const ref = /\(reference ([0-9a-f]{8})\)/.exec(message)?.[1];
    assert.ok(ref, `a reference in ${JSON.stringify(message)}`);
    assert.doesNotMatch(message, /cpu|range|HTTP code|docker/i, 'none of the engine\'s words');
    const line = logged.lines.find((l) => l.includes(ref!));
    assert.ok(line, 'the log has the reference');
    assert.match(JSON.parse(line).err, /cpu/i, 'with the engine\'s reason');
  });
});
