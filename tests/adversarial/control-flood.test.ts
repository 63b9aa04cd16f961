/**
 * Cheap frames that trigger expensive work. Each resize is a call to the engine,
 * each hint or quiz a write to the store; a learner with 8 tabs (or a script with
 * 50 sockets) must not turn that into a stall for the class:
 *  - terminal sockets count against the per-learner cap from the upgrade, not from
 *    hello (50 upgrades for one cookie: at most the cap get in);
 *  - resizes are coalesced (the latest size, a few a second, unchanged ones skipped);
 *  - control messages have a per-learner budget over all their sockets;
 * and another learner's echo stays within 2x while it happens.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { writeLessons } from '../helpers/lessons.ts';
import { CloseCode } from '../../sandbox-server/src/protocol.ts';
import { EchoProbe, fmtLatency, sleep } from './helpers.ts';

const QUIZ = `
exercises: []
quizzes:
  - id: q
    title: { ko: 퀴즈, en: Quiz }
    questions:
      - prompt: { ko: 하나, en: One }
        choices: [{ ko: 가, en: a }, { ko: 나, en: b }]
        answer: 1
        explanation: { ko: 나예요, en: b }
`;

describe('adversarial: cheap frames, expensive work', () => {
  let berth: TestBerth;
  const terms: TestTerminal[] = [];
  before(async () => {
    const content = writeLessons({ '92-quiz': QUIZ });
    berth = await startTestBerth(testConfig({ BERTH_CONTENT_DIR: content }));
  });
  after(async () => {
    for (const t of terms) t.close();
    await berth?.destroy();
  });

  test('50 upgrades for one cookie before any hello: at most the cap get a socket, then all say hello', async (t) => {
    const cookie = await newLearner(berth);
    const cap = berth.config.maxTerminalsPerLearner;
    const socks = Array.from({ length: 50 }, () => new TestTerminal(berth.origin, { cookie, hello: false }));
    terms.push(...socks);
    const opened = await Promise.allSettled(socks.map((s) => s.opened));
    const inside = socks.filter((_, i) => opened[i]!.status === 'fulfilled');
    t.diagnostic(`${inside.length} of 50 upgrades accepted (cap ${cap})`);
    assert.equal(inside.length, cap, 'exactly the cap got in');
    for (const s of inside) s.control({ t: 'hello', cols: 80, rows: 24 });
    await inside[0]!.waitForState('ready', 90_000);
    await sleep(500);
    assert.ok(inside.every((s) => !s.closed), 'every accepted socket stays after its hello');
    // A socket that leaves frees its place.
    inside[0]!.close();
    await inside[0]!.waitForClose();
    await sleep(200);
    const late = new TestTerminal(berth.origin, { cookie, hello: false });
    terms.push(late);
    await late.opened;
    for (const s of inside) s.close();
    late.close();
  });

  test('150 resizes at once make at most 3 engine calls, and the shell ends at the latest size', async (t) => {
    const cookie = await newLearner(berth);
    const term = new TestTerminal(berth.origin, { cookie, hello: { cols: 100, rows: 30 } });
    terms.push(term);
    await term.waitForState('ready', 90_000);
    await term.run('true');
    const before = berth.manager.resizeCalls;
    for (let i = 0; i < 150; i++) term.control({ t: 'resize', cols: 50 + i, rows: 20 + (i % 10) });
    await sleep(1000);
    const calls = berth.manager.resizeCalls - before;
    const size = await term.run('stty size');
    t.diagnostic(`150 resizes -> ${calls} engine calls; stty size: ${size.trim().split('\n').at(-1)}`);
    assert.ok(calls >= 1 && calls <= 3, `coalesced: ${calls} calls`);
    assert.match(size, /^29 199\s*$/m, 'the last size asked for (rows 29, cols 199) is the shell\'s');
    term.close();
  });

  test('resize, hint and quiz floods on 8 sockets: resizes coalesced, budget enforced, another learner\'s echo within 2x', async (t) => {
    const other = await EchoProbe.open(berth.origin, await newLearner(berth));
    try {
      const baseline = await other.measure(100, 20);
      const cookie = await newLearner(berth);
      const socks = Array.from({ length: 8 }, () => new TestTerminal(berth.origin, { cookie, hello: { cols: 100, rows: 30, lesson: '92-quiz', lang: 'en' } }));
      terms.push(...socks);
      await socks[0]!.waitForState('ready', 90_000);
      for (const s of socks) await s.until(() => s.states.includes('ready'), 30_000, 'ready');
      const callsBefore = berth.manager.resizeCalls;
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      let sent = 0;
      const floodMs = 10_000;
      const ends = Date.now() + floodMs;
      const flood = (async () => {
        for (let i = 0; Date.now() < ends; i++) {
          for (const s of socks) {
            if (s.closed) continue;
            // 190 messages a second per socket, in 19-message slices every 100 ms.
            for (let k = 0; k < 19; k++, sent++) {
              const n = i * 19 + k;
              if (n % 3 === 0) s.control({ t: 'resize', cols: 40 + (n % 100), rows: 20 + (n % 30) });
              else if (n % 3 === 1) s.control({ t: 'quiz', quiz: 'q', answers: [[n % 2]] });
              else s.control({ t: 'hint', exercise: 'none' });
            }
          }
          await sleep(100);
        }
      })();
      const during = await other.measure(100, 20);
      await flood;
      delay.disable();
      const resizeCalls = berth.manager.resizeCalls - callsBefore;
      const closedByBudget = socks.filter((s) => s.closed?.code === CloseCode.RateLimited).length;
      t.diagnostic(`sent ${sent} control messages in ${floodMs / 1000} s; resize calls to the engine ${resizeCalls}; sockets closed by the budget ${closedByBudget}/8`);
      t.diagnostic(`loop delay p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms; other learner's echo: before ${fmtLatency(baseline)}; during ${fmtLatency(during)}`);
      assert.ok(resizeCalls <= floodMs / 200 + 2, `resizes coalesced to at most 5 a second: ${resizeCalls}`);
      assert.equal(closedByBudget, 8, 'the per-learner control budget closed every flooding socket');
      assert.ok(during.p95 <= Math.max(2 * baseline.p95, baseline.p95 + 20), `another learner's echo p95 within 2x: ${during.p95.toFixed(1)} vs ${baseline.p95.toFixed(1)} ms`);
      assert.ok(delay.percentile(99) / 1e6 < 50, 'event-loop delay p99 under 50 ms');
      // The learner comes back with a page that behaves.
      const again = new TestTerminal(berth.origin, { cookie });
      terms.push(again);
      await again.waitForState('ready', 30_000);
    } finally {
      other.close();
    }
  });
});
