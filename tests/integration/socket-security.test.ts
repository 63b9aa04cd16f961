/**
 * The terminal socket refuses what it must and survives bad input: foreign
 * origins, missing or forged cookies, malformed and oversized frames, silence.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { CloseCode, FIRST_MESSAGE_TIMEOUT_MS, MAX_FRAME_BYTES, TERMINAL_PATH } from '../../sandbox-server/src/protocol.ts';
import { newLearnerId } from '../../sandbox-server/src/identity.ts';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';

describe('terminal socket security', () => {
  let berth: TestBerth;
  let cookie: string;

  before(async () => {
    berth = await startTestBerth(testConfig());
    cookie = await newLearner(berth);
  });
  after(async () => {
    await berth?.destroy();
  });

  const refusal = async (opts: ConstructorParameters<typeof TestTerminal>[1]) => {
    const t = new TestTerminal(berth.origin, opts);
    const err = await t.opened.then(
      () => undefined,
      (e: Error) => e,
    );
    t.ws.terminate();
    return err?.message;
  };

  const healthy = async () => {
    const res = await fetch(`${berth.origin}/healthz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok', engine: 'up' });
  };

  test('a foreign Origin is refused with 403 before any socket exists', async () => {
    assert.match((await refusal({ cookie, originHeader: 'http://evil.example' })) ?? '', /403/);
    assert.match((await refusal({ cookie, originHeader: `http://localhost:${berth.port + 1}` })) ?? '', /403/);
  });

  test('a missing Origin is refused', async () => {
    const ws = new WebSocket(berth.origin.replace('http', 'ws') + TERMINAL_PATH, { headers: { Cookie: cookie } });
    ws.on('error', () => {});
    const status = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => resolve(101));
    });
    ws.terminate();
    assert.equal(status, 403);
  });

  test('a missing, malformed or never-issued cookie is refused with 401', async () => {
    assert.match((await refusal({})) ?? '', /401/);
    assert.match((await refusal({ cookie: 'berth_learner=not-an-id' })) ?? '', /401/);
    assert.match((await refusal({ cookie: `berth_learner=${newLearnerId()}` })) ?? '', /401/);
  });

  test('other paths do not upgrade', async () => {
    const ws = new WebSocket(`${berth.origin.replace('http', 'ws')}/ws/other`, { headers: { Cookie: cookie }, origin: berth.origin });
    ws.on('error', () => {});
    const status = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => resolve(101));
      ws.once('error', () => resolve(-1));
    });
    ws.terminate();
    assert.equal(status, 404);
  });

  test('a malformed first message closes with BadMessage and a reason', async () => {
    const t = new TestTerminal(berth.origin, { cookie, hello: false });
    await t.opened;
    t.ws.send('{"t":"hello","cols":"wide"}');
    const closed = await t.waitForClose();
    assert.equal(closed.code, CloseCode.BadMessage);
    assert.match(closed.reason, /cols/);
    await healthy();
  });

  test('input before hello closes with BadMessage', async () => {
    const t = new TestTerminal(berth.origin, { cookie, hello: false });
    await t.opened;
    t.send('ls\r');
    assert.equal((await t.waitForClose()).code, CloseCode.BadMessage);
  });

  test('an oversized frame closes with 1009 and the server stays healthy', async () => {
    const t = new TestTerminal(berth.origin, { cookie, hello: false });
    await t.opened;
    t.ws.send(Buffer.alloc(MAX_FRAME_BYTES + 1, 'a'), { binary: true });
    assert.equal((await t.waitForClose()).code, 1009);
    await healthy();
    const again = new TestTerminal(berth.origin, { cookie, hello: false });
    await again.opened;
    again.close();
  });

  test('a socket that never says hello is closed by the first-message timeout', async () => {
    const t = new TestTerminal(berth.origin, { cookie, hello: false });
    await t.opened;
    const began = Date.now();
    const closed = await t.waitForClose(FIRST_MESSAGE_TIMEOUT_MS + 5_000);
    assert.equal(closed.code, CloseCode.FirstMessageTimeout);
    assert.ok(Date.now() - began >= FIRST_MESSAGE_TIMEOUT_MS - 500, 'not closed before the timeout');
  });

  test('a flood of frames is rate limited', async () => {
    const t = new TestTerminal(berth.origin, { cookie });
    await t.opened;
    for (let i = 0; i < 3000 && t.ws.readyState === WebSocket.OPEN; i++) t.control({ t: 'resize', cols: 80, rows: 24 });
    assert.equal((await t.waitForClose()).code, CloseCode.RateLimited);
    await healthy();
  });
});
