/**
 * Lifecycle against a real engine: reconcile at start (adopt own, remove orphans),
 * idle stop keeps data and resumes, flow control bounds memory.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { berthLabels } from '../../sandbox-server/src/runtime/labels.ts';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';

describe('reconcile at start', () => {
  const config = testConfig();
  let first: TestBerth | undefined;
  let second: TestBerth | undefined;
  after(async () => {
    await first?.stop().catch(() => {});
    await second?.destroy();
  });

  test('a restarted server adopts its sandboxes and removes orphans', async () => {
    first = await startTestBerth(config);
    const cookie = await newLearner(first);
    const term = new TestTerminal(first.origin, { cookie });
    await term.waitForState('ready', 90_000);
    await term.run('echo kept > ~/kept.txt');
    term.close();
    const [own] = await first.runtime.listSandboxes();
    assert.ok(own);

    // Orphans: a sandbox of a learner this server never issued, and a stray volume.
    const orphan = await first.runtime.create('f'.repeat(32));
    const stray = await first.runtime.docker.createVolume({
      Name: `berth-${config.instance}-data-eeeeeeeeeeeeeeee`,
      Labels: berthLabels(config.instance, 'sandbox-data', 'e'.repeat(32)),
    });
    await first.stop();

    second = await startTestBerth({ ...config, port: 0 });
    const sandboxes = await second.runtime.listSandboxes();
    assert.deepEqual(sandboxes.map((s) => s.id), [own.id], 'own sandbox adopted, orphan removed');
    await assert.rejects(second.runtime.docker.getContainer(orphan.id).inspect(), /no such container/i);
    await assert.rejects(second.runtime.docker.getVolume(stray.name).inspect(), /no such volume/i);
    const volumes = await second.runtime.listVolumes();
    assert.deepEqual(volumes.map((v) => v.learner), [own.learner]);

    const again = new TestTerminal(second.origin, { cookie });
    try {
      await again.waitForState('ready', 60_000);
      assert.match(await again.run('cat ~/kept.txt'), /kept/);
      const [after] = await second.runtime.listSandboxes();
      assert.equal(after!.id, own.id, 'the same container, not a new one');
    } finally {
      again.close();
    }
  });
});

describe('idle stop and resume', () => {
  let berth: TestBerth;
  after(async () => {
    await berth?.destroy();
  });

  test('an idle sandbox stops, keeps its data, and resumes on return', async () => {
    berth = await startTestBerth(testConfig({ BERTH_IDLE_TIMEOUT: '10s' }));
    const cookie = await newLearner(berth);
    const term = new TestTerminal(berth.origin, { cookie });
    await term.waitForState('ready', 90_000);
    const ready = term.messages.findLast((m) => m.t === 'status' && m.state === 'ready');
    assert.ok(ready?.t === 'status' && ready.idleStopAt, 'ready status carries the idle deadline');
    assert.ok(Math.abs(ready.idleStopAt - (Date.now() + 10_000)) < 5_000);
    await term.run('docker run --name idle-test hello-world >/dev/null; echo data > ~/data.txt');

    await term.waitForState('stopped', 30_000);
    const [sb] = await berth.runtime.listSandboxes();
    assert.equal(sb?.running, false, 'the container is stopped, not removed');
    term.close();

    const began = Date.now();
    const back = new TestTerminal(berth.origin, { cookie });
    try {
      await back.waitForState('ready', 60_000);
      const resumeMs = Date.now() - began;
      console.log(`# resume after idle stop: ${resumeMs} ms`);
      assert.match(await back.run('cat ~/data.txt; docker ps -a --format "{{.Names}}"'), /data[\s\S]*idle-test/);
    } finally {
      back.close();
    }
  });
});

describe('flow control', () => {
  let berth: TestBerth;
  after(async () => {
    await berth?.destroy();
  });

  test('a paused page stops a flood at the source; memory stays bounded', async () => {
    berth = await startTestBerth(testConfig());
    const term = new TestTerminal(berth.origin, { cookie: await newLearner(berth) });
    await term.waitForState('ready', 90_000);
    await term.run('true');
    term.control({ t: 'pause' });
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    term.send('yes | head -c 200M\r');
    await new Promise((r) => setTimeout(r, 5000));
    const received = term.outputBytes;
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    console.log(`# paused: received ${received} bytes, rss growth ${(rssGrowth / 1048576).toFixed(1)} MiB`);
    assert.ok(received < 16 * 1024 * 1024, `output kept flowing while paused: ${received} bytes`);
    assert.ok(rssGrowth < 150 * 1024 * 1024, `memory grew by ${rssGrowth} bytes`);

    term.control({ t: 'resume' });
    await term.until(() => term.outputBytes > received + 4 * 1024 * 1024, 30_000, 'output to flow again after resume');
    term.send('\x03');
    await term.run('echo after-flood', 60_000);
    term.close();
  });
});

describe('interrupted starts', () => {
  test('a tab closed mid-start and a server stopped mid-start leave nothing behind', async () => {
    const berth = await startTestBerth(testConfig());
    const labelled = async () => {
      const filter = { label: [`org.berth.instance=${berth.config.instance}`] };
      const docker = berth.runtime.docker;
      const [containers, volumes, networks] = await Promise.all([
        docker.listContainers({ all: true, filters: filter }),
        docker.listVolumes({ filters: filter }),
        docker.listNetworks({ filters: filter }),
      ]);
      // The registry and the name server outlive the server (sandboxes use them while it is down).
      const services = containers.filter((c) => ['registry', 'registry-cache', 'dns'].includes(c.Labels['org.berth.role'] ?? '')).length;
      return { containers: containers.length - services, services, volumes: volumes.Volumes?.length ?? 0, networks: networks.length };
    };
    try {
      const term = new TestTerminal(berth.origin, { cookie: await newLearner(berth) });
      await term.until(() => term.states.includes('creating'), 10_000, 'creation to begin');
      term.close(); // the learner leaves mid-start
      const stopping = Date.now();
      await berth.stop(); // and the server goes down while the engine boots
      assert.ok(Date.now() - stopping < 30_000, 'shutdown does not wait for a whole start timeout');
      const before = await labelled();
      assert.ok(before.containers <= 1 && before.volumes <= 1, `at most the one sandbox exists: ${JSON.stringify(before)}`);
    } finally {
      await berth.destroy();
    }
    assert.deepEqual(await labelled(), { containers: 0, services: 0, volumes: 0, networks: 0 }, 'no leaked containers, volumes or networks');
  });
});
