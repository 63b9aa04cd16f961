/**
 * The engine host's disk is shared. Learners can each fill their sandbox disk and
 * leave; stopped sandboxes keep their data for days. Past the stopped-data budget,
 * the data of the learner seen least recently goes first (progress stays); below the
 * free-space mark no new sandbox is created, while learners with data still resume
 * and /api/progress keeps answering. Measured by the real helper container on the
 * real engine.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { handleOf } from '../../sandbox-server/src/identity.ts';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { waitFor } from './helpers.ts';

const learnerOf = (cookie: string) => handleOf(cookie.slice(cookie.indexOf('=') + 1));
const STOP_ALL_IDLE = () => Date.now() + 24 * 3600_000; // a "now" at which every sandbox is idle

describe('adversarial: the host disk', () => {
  const berths: TestBerth[] = [];
  const terms: TestTerminal[] = [];
  after(async () => {
    for (const t of terms) t.close();
    for (const b of berths) await b.destroy();
  });

  test('past the stopped-data budget, the least recently seen learner\'s data goes; running sandboxes and progress stay', async (t) => {
    const berth = await startTestBerth(testConfig({ BERTH_STOPPED_DISK_BUDGET: '40m', BERTH_DISK_CHECK_INTERVAL: '1s' }));
    berths.push(berth);
    const open = async (cookie: string, mb: number) => {
      const term = new TestTerminal(berth.origin, { cookie });
      terms.push(term);
      await term.waitForState('ready', 90_000);
      await term.run(`head -c ${mb}M /dev/urandom > ~/data.bin && sync && echo written`);
      return term;
    };
    const older = await newLearner(berth);
    const newer = await newLearner(berth);
    (await open(older, 30)).close();
    (await open(newer, 30)).close();
    berth.store.db.prepare('UPDATE learners SET last_seen_at = ? WHERE handle = ?').run(Date.now() - 3600_000, learnerOf(older));
    berth.store.markPassed(learnerOf(older), '00-welcome', 'kept-progress');
    await berth.manager.stopIdle(STOP_ALL_IDLE()); // both stopped: 60 MB of stopped data, budget 40 MB
    const running = await newLearner(berth);
    const runningTerm = await open(running, 50); // in use: never counted, never deleted
    const volumes = async () => new Set((await berth.runtime.listVolumes()).map((v) => v.learner));
    const began = Date.now();
    for (;;) {
      const v = await volumes();
      if (!v.has(learnerOf(older)) || Date.now() - began > 30_000) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const left = await volumes();
    const usage = berth.manager.disk?.usage;
    t.diagnostic(`measured: disk ${(usage!.sizeBytes / 2 ** 30).toFixed(1)} GiB, free ${(usage!.freeBytes / 2 ** 30).toFixed(1)} GiB; volumes left ${left.size}`);
    assert.equal(left.has(learnerOf(older)), false, 'the least recently seen learner\'s stopped data was deleted');
    assert.equal(left.has(learnerOf(newer)), true, 'the more recent one fits the budget and stays');
    assert.equal(left.has(learnerOf(running)), true, 'a running sandbox is never deleted');
    const newerBytes = usage?.volumes.get(learnerOf(newer)) ?? 0;
    t.diagnostic(`the kept stopped sandbox (30 MB written) measures ${(newerBytes / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(newerBytes >= 30 * 2 ** 20, 'what the learner wrote is measured');
    assert.ok(newerBytes < 1 * 2 ** 30, 'allocated bytes, not the 4 GiB apparent size of the sparse disk');
    assert.deepEqual(berth.store.progress(learnerOf(older)).map((r) => r.exercise), ['kept-progress'], 'progress stays');
    // The evicted learner comes back to a fresh sandbox.
    const back = new TestTerminal(berth.origin, { cookie: older });
    terms.push(back);
    await back.waitForState('ready', 90_000);
    assert.match(await back.run('ls ~/data.bin 2>&1'), /No such file/);
    runningTerm.close();
  });

  test('below the free-space mark, new sandboxes are refused with a clear message; learners with data resume', async (t) => {
    const first = await startTestBerth(testConfig());
    berths.push(first);
    const withData = await newLearner(first);
    const term = new TestTerminal(first.origin, { cookie: withData });
    terms.push(term);
    await term.waitForState('ready', 90_000);
    await term.run('echo mine > ~/note.txt');
    term.close();
    await first.manager.stopIdle(STOP_ALL_IDLE());
    await first.stop();

    // The same instance and data, now with a mark no disk can meet.
    const second = await startTestBerth(testConfig({ BERTH_INSTANCE: first.config.instance, BERTH_DATA_DIR: first.config.dataDir, BERTH_MIN_FREE_DISK: '100%' }));
    berths.push(second);
    await waitFor(() => second.manager.disk?.usage !== undefined, 30_000, 'the first disk measure');
    const fresh = await newLearner(second);
    const refused = new TestTerminal(second.origin, { cookie: fresh });
    terms.push(refused);
    await refused.until(() => refused.messages.some((m) => m.t === 'status' && m.state === 'failed'), 30_000, 'the refusal');
    const status = refused.messages.find((m) => m.t === 'status' && m.state === 'failed');
    t.diagnostic(`new learner below the mark: ${JSON.stringify(status)}`);
    assert.equal(status?.t === 'status' && status.code, 'disk-full');
    assert.equal((await second.runtime.listSandboxes()).filter((s) => s.learner === learnerOf(fresh)).length, 0, 'no sandbox was created');
    const progress = await fetch(`${second.origin}/api/progress`, { headers: { Cookie: fresh } });
    assert.equal(progress.status, 200, '/api/progress keeps working');

    const resumed = new TestTerminal(second.origin, { cookie: withData });
    terms.push(resumed);
    await resumed.waitForState('ready', 90_000);
    assert.match(await resumed.run('cat ~/note.txt'), /mine/, 'a learner with data resumes');
    // first and second share the instance: destroy it once.
    berths.splice(berths.indexOf(first), 1);
    rmSync(first.config.dataDir, { recursive: true, force: true });
  });
});
