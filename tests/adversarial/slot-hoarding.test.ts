/**
 * Cookies are free, capacity is not. One address mints cookies and asks for a
 * sandbox with each: it may hold at most BERTH_SANDBOXES_PER_ADDRESS running or
 * waiting at once, so it cannot fill the machine nor queue ahead of everyone; its
 * "keep working" frames do not keep a slot past the idle time for free; and a
 * learner at another address still gets a sandbox in bounded time.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { CloseCode } from '../../sandbox-server/src/protocol.ts';
import { sleep } from './helpers.ts';

const PER_ADDRESS = 2;
const HOARDER = '127.0.0.7';

describe('adversarial: one address hoarding sandboxes', () => {
  let berth: TestBerth;
  const terms: TestTerminal[] = [];
  before(async () => {
    berth = await startTestBerth(testConfig({ BERTH_MAX_SANDBOXES: '3', BERTH_SANDBOXES_PER_ADDRESS: String(PER_ADDRESS), BERTH_IDLE_TIMEOUT: '20s', BERTH_RATE_SANDBOXES: 'off' }));
  });
  after(async () => {
    for (const t of terms) t.close();
    await berth?.destroy();
  });

  test(`one address gets ${PER_ADDRESS} sandboxes, not 20; another address still gets one`, async (t) => {
    const cookies = await Promise.all(Array.from({ length: 20 }, () => newLearner(berth)));
    const hoard = cookies.map((cookie) => new TestTerminal(berth.origin, { cookie, localAddress: HOARDER }));
    terms.push(...hoard);
    await Promise.all(hoard.map((h) => h.until(() => h.closed !== undefined || h.states.includes('ready'), 90_000, 'ready or refused')));
    const served = hoard.filter((h) => h.states.includes('ready'));
    const refused = hoard.filter((h) => h.closed?.code === CloseCode.RateLimited);
    t.diagnostic(`20 sandboxes asked from one address: ${served.length} ready, ${refused.length} refused (${refused[0]?.closed?.reason})`);
    assert.equal(served.length, PER_ADDRESS);
    assert.equal(refused.length, 20 - PER_ADDRESS);
    assert.match(refused[0]!.closed!.reason, /running or waiting already/);
    assert.equal(berth.manager.queueLength(), 0, 'none of them queued ahead of other learners');

    const began = Date.now();
    const other = new TestTerminal(berth.origin, { cookie: await newLearner(berth), localAddress: '127.0.0.8' });
    terms.push(other);
    await other.waitForState('ready', 90_000);
    t.diagnostic(`a learner at another address: ready in ${Date.now() - began} ms`);

    // A learner of the hoarding address whose sandbox is already running may open another tab.
    const again = new TestTerminal(berth.origin, { cookie: cookies[hoard.indexOf(served[0]!)]!, localAddress: HOARDER });
    terms.push(again);
    await again.waitForState('ready', 30_000);
  });

  test('"keep working" frames every second do not keep an idle sandbox running past the idle time', async (t) => {
    const cookie = await newLearner(berth);
    const term = new TestTerminal(berth.origin, { cookie, localAddress: '127.0.0.9' });
    terms.push(term);
    await term.waitForState('ready', 90_000);
    const began = Date.now();
    let frames = 0;
    while (!term.states.slice(term.states.lastIndexOf('ready')).includes('stopped') && Date.now() - began < 90_000) {
      term.ws.send(Buffer.alloc(0), { binary: true }); // what the page's "keep working" button sends
      frames++;
      await sleep(1000);
    }
    const ms = Date.now() - began;
    t.diagnostic(`${frames} keep-working frames, one a second: stopped after ${ms} ms (idle timeout 20 s)`);
    assert.ok(term.states.includes('stopped'), 'the sandbox was stopped for being idle');
    assert.ok(ms < 85_000, 'within the idle time plus one keep-working allowance (60 s)');
  });
});
