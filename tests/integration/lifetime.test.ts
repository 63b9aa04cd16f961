/**
 * Sandbox lifetime against a real engine: resume after an idle stop brings back
 * the learner's images, containers and volumes; the maximum age stops a sandbox
 * (data kept); the maximum stored age deletes it (progress kept); the warm pool
 * gives a new learner a prompt without waiting for a nested engine to boot.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { handleOf } from '../../sandbox-server/src/identity.ts';
import { LEARNER_COOKIE, type ServerMessage } from '../../sandbox-server/src/protocol.ts';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';

type Status = Extract<ServerMessage, { t: 'status' }>;
const lastStatus = (t: TestTerminal) => t.messages.filter((m): m is Status => m.t === 'status').at(-1);
const handleOfCookie = (cookie: string) => handleOf(cookie.slice(LEARNER_COOKIE.length + 1));

/** Cold start of the first learner, for the warm pool comparison below. */
let coldReadyMs: number | undefined;

describe('stop, resume and delete', () => {
  let berth: TestBerth;
  after(async () => {
    await berth?.destroy();
  });

  test('after an idle stop, the nested images, containers and volumes come back; max age and stored age apply', async () => {
    berth = await startTestBerth(testConfig({ BERTH_IDLE_TIMEOUT: '1h', BERTH_SANDBOX_MAX_AGE: '2h', BERTH_SANDBOX_MAX_STORED_AGE: '14d' }));
    const cookie = await newLearner(berth);
    const learner = handleOfCookie(cookie);

    let began = Date.now();
    const term = new TestTerminal(berth.origin, { cookie });
    await term.waitForState('ready', 90_000);
    coldReadyMs = Date.now() - began;
    console.log(`# cold start, first connection to ready: ${coldReadyMs} ms`);
    const maxAgeStopAt = lastStatus(term)?.maxAgeStopAt;
    assert.ok(maxAgeStopAt && Math.abs(maxAgeStopAt - (Date.now() + 7_200_000)) < 120_000, 'ready status carries the max-age deadline');

    const made = await term.run(
      "docker volume create keepvol >/dev/null && docker run -d --name keeper -v keepvol:/data busybox sh -c 'echo kept-data > /data/f; sleep 600' >/dev/null && docker ps --format '{{.Names}}'",
      120_000,
    );
    assert.match(made, /keeper/, 'the nested container runs');

    // The idle timer's verdict, now rather than in an hour.
    assert.equal(await berth.manager.stopIdle(Date.now() + 3_600_000 + 1000), 1);
    await term.waitForState('stopped', 30_000);
    assert.equal(lastStatus(term)?.code, 'idle-stopped');
    assert.equal((await berth.runtime.find(learner))?.running, false, 'stopped, not removed');
    term.close();

    began = Date.now();
    const back = new TestTerminal(berth.origin, { cookie });
    try {
      await back.waitForState('ready', 90_000);
      console.log(`# resume after idle stop, connection to ready: ${Date.now() - began} ms`);
      const seen = await back.run(
        "docker volume ls -q; docker ps -a --format 'ctr={{.Names}}'; docker images --format 'img={{.Repository}}'; docker run --rm -v keepvol:/data busybox cat /data/f",
        120_000,
      );
      assert.match(seen, /^keepvol\r?$/m, 'the volume is back');
      assert.match(seen, /ctr=keeper/, 'the container is back');
      assert.match(seen, /img=busybox/, 'the image is back (no pull needed)');
      assert.match(seen, /kept-data/, 'the volume kept its data');

      // Maximum age: stopped even while in use, data kept, the page told why.
      const deadline = lastStatus(back)!.maxAgeStopAt!;
      assert.equal(await berth.manager.stopIdle(deadline + 1), 1);
      await back.waitForState('stopped', 30_000);
      assert.equal(lastStatus(back)?.code, 'max-age-stopped');
      assert.ok(await berth.runtime.find(learner), 'the container is kept');
    } finally {
      back.close();
    }

    // Maximum stored age: a learner unseen for 15 days loses the sandbox and its volume, not their progress.
    berth.store.markPassed(learner, 'first-container', 'run-hello');
    assert.equal(await berth.manager.removeExpired(), 0, 'a learner seen today keeps everything');
    berth.store.db.prepare('UPDATE learners SET last_seen_at = ? WHERE handle = ?').run(Date.now() - 15 * 86_400_000, learner);
    assert.equal(await berth.manager.removeExpired(), 1);
    assert.equal(await berth.runtime.find(learner), undefined, 'the container is deleted');
    assert.deepEqual((await berth.runtime.listVolumes()).filter((v) => v.learner === learner), [], 'the data volume is deleted');
    assert.equal(berth.store.progress(learner).length, 1, 'progress stays');
  });
});

describe('warm pool', () => {
  let berth: TestBerth;
  after(async () => {
    await berth?.destroy();
  });

  test('a new learner gets a booted sandbox: the prompt appears without an engine boot', async () => {
    berth = await startTestBerth(testConfig({ BERTH_WARM_POOL: '1' }));
    const poolDeadline = Date.now() + 120_000;
    while (berth.manager.poolSize().ready < 1) {
      assert.ok(Date.now() < poolDeadline, 'the pool filled');
      await new Promise((r) => setTimeout(r, 200));
    }
    const [pooled] = await berth.runtime.listSandboxes();
    const cookie = await newLearner(berth);
    assert.equal(handleOfCookie(cookie), pooled!.learner, 'the cookie is the pooled identity');
    assert.ok(berth.store.hasLearner(pooled!.learner), 'and a known learner from now on');

    const began = Date.now();
    const term = new TestTerminal(berth.origin, { cookie });
    try {
      await term.waitForState('ready', 60_000);
      const warmMs = Date.now() - began;
      console.log(`# warm pool, first connection to ready: ${warmMs} ms (cold: ${coldReadyMs ?? 'not measured'} ms)`);
      assert.ok(!term.messages.some((m) => m.t === 'status' && m.code === 'creating'), 'nothing was created for this learner');
      if (coldReadyMs !== undefined) assert.ok(warmMs < coldReadyMs, `warm ${warmMs} ms is faster than cold ${coldReadyMs} ms`);
      assert.match(await term.run('docker info --format "{{.ServerVersion}}"'), /\d+\.\d+/, 'the nested engine answers');
    } finally {
      term.close();
    }
    // The pool refills in the background with a new identity.
    const refillDeadline = Date.now() + 120_000;
    while (berth.manager.poolSize().ready < 1) {
      assert.ok(Date.now() < refillDeadline, 'the pool refilled');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal((await berth.runtime.listSandboxes()).length, 2);
  });
});
