/**
 * A reset destroys a sandbox and creates a fresh one: container, disk, engine boot.
 * One learner sending reset after reset must not hold every start permit for a
 * class: requests merge while one is pending, one is accepted per interval, and each
 * spends the address's sandbox allowance. A refused page is told, and keeps its
 * screen and its sandbox.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newLearner, startTestBerth, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { sleep } from './helpers.ts';
import { handleOf } from '../../sandbox-server/src/identity.ts';
import { LABEL } from '../../sandbox-server/src/runtime/labels.ts';
import { CloseCode } from '../../sandbox-server/src/protocol.ts';

/** Counts the sandbox containers the host engine creates for one learner (by their cookie). */
async function countCreates(berth: TestBerth, cookie: string): Promise<{ count: () => number; stop: () => void }> {
  const learner = handleOf(cookie.slice(cookie.indexOf('=') + 1));
  const stream = (await berth.runtime.docker.getEvents({
    filters: { type: ['container'], event: ['create'], label: [`org.berth.instance=${berth.config.instance}`, `${LABEL.learner}=${learner}`] },
  })) as NodeJS.ReadableStream & { destroy(): void };
  let n = 0;
  stream.on('data', (d: Buffer) => (n += d.toString().split('\n').filter((l) => l.includes('"create"')).length));
  return { count: () => n, stop: () => stream.destroy() };
}

describe('adversarial: reset floods', () => {
  let berth: TestBerth;
  const terms: TestTerminal[] = [];
  before(async () => {
    berth = await startTestBerth();
  });
  after(async () => {
    for (const t of terms) t.close();
    await berth?.destroy();
  });

  test('500 resets in 5 s make at most 2 sandboxes, and another learner still starts in time', async (t) => {
    // Baseline: a learner's cold start on an otherwise quiet server.
    const quietCookie = await newLearner(berth);
    let began = Date.now();
    const quiet = new TestTerminal(berth.origin, { cookie: quietCookie });
    terms.push(quiet);
    await quiet.waitForState('ready', 90_000);
    const baselineMs = Date.now() - began;

    const cookie = await newLearner(berth);
    let attacker = new TestTerminal(berth.origin, { cookie, hello: { cols: 100, rows: 30, lang: 'en' } });
    terms.push(attacker);
    await attacker.waitForState('ready', 90_000);
    await attacker.run('echo "before-$((6 * 7))"');
    const errors: string[] = [];
    let closedByBudget = 0;

    const creates = await countCreates(berth, cookie);
    try {
      const floodEnds = Date.now() + 5000;
      let sent = 0;
      // 10 resets every 10 ms; when the control budget closes the socket, a new one, as an attacker would.
      const flood = (async () => {
        while (Date.now() < floodEnds && sent < 500) {
          if (attacker.closed) {
            if (attacker.closed.code === CloseCode.RateLimited) closedByBudget++;
            errors.push(...attacker.messages.flatMap((m) => (m.t === 'error' ? [m.message] : [])));
            attacker = new TestTerminal(berth.origin, { cookie, hello: { cols: 100, rows: 30, lang: 'en' } });
            terms.push(attacker);
            await attacker.opened.catch(() => {});
          }
          for (let i = 0; i < 10 && sent < 500 && !attacker.closed; i++, sent++) attacker.control({ t: 'reset' });
          await sleep(10);
        }
      })();
      // Meanwhile another learner arrives.
      await sleep(500);
      const otherCookie = await newLearner(berth);
      began = Date.now();
      const other = new TestTerminal(berth.origin, { cookie: otherCookie });
      terms.push(other);
      await other.waitForState('ready', 90_000);
      const otherMs = Date.now() - began;
      await flood;
      errors.push(...attacker.messages.flatMap((m) => (m.t === 'error' ? [m.message] : [])));
      await sleep(3000); // any create still on its way shows up in the events
      t.diagnostic(`resets sent ${sent} in 5 s; the attacker's sandboxes created ${creates.count()}; refusals told to the page ${errors.length}; sockets closed by the control budget ${closedByBudget}; other learner's start ${otherMs} ms (quiet baseline ${baselineMs} ms)`);
      assert.equal(sent, 500, 'the whole flood was sent');
      assert.ok(creates.count() >= 1, 'the first reset was carried out (the counter works)');
      assert.ok(creates.count() <= 2, `at most 2 sandboxes were created: ${creates.count()}`);
      for (const e of errors) assert.match(e, /reset it again in \d+ s/, 'a refusal says when the page may reset again');
      // The learner's own page still works once the flood is over.
      const after = new TestTerminal(berth.origin, { cookie });
      terms.push(after);
      await after.waitForState('ready', 90_000);
      assert.ok(otherMs < baselineMs * 3 + 10_000, `another learner's start is not held up: ${otherMs} ms vs ${baselineMs} ms`);
    } finally {
      creates.stop();
    }
  });

  test('a refused reset gives the page back its screen and its ready sandbox', async () => {
    const cookie = await newLearner(berth);
    const term = new TestTerminal(berth.origin, { cookie, hello: { cols: 100, rows: 30, lang: 'ko' } });
    terms.push(term);
    await term.waitForState('ready', 90_000);
    term.control({ t: 'reset' });
    await term.until(() => term.states.filter((s) => s === 'ready').length >= 2, 90_000, 'the accepted reset to finish');
    await term.run('echo "kept-$((6 * 7))"');
    const readyBefore = term.states.filter((s) => s === 'ready').length;
    const errorsBefore = term.messages.filter((m) => m.t === 'error').length;
    term.control({ t: 'reset' }); // too soon
    await term.until(() => term.messages.filter((m) => m.t === 'error').length > errorsBefore, 10_000, 'the refusal');
    const refusal = term.messages.filter((m) => m.t === 'error').at(-1);
    assert.match(refusal?.t === 'error' ? refusal.message : '', /초 뒤에 다시 초기화할 수 있어요/, 'in the page\'s language');
    await term.until(() => term.states.filter((s) => s === 'ready').length > readyBefore, 5000, 'the ready state back');
    assert.match(term.output, /kept-42/, 'the replay gave the screen back');
    assert.match(await term.run('echo "still-$((7 * 6))"'), /still-42/, 'the same sandbox keeps working');
  });
});
