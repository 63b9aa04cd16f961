/**
 * The core slice against a real engine: a learner's terminal is a shell in their
 * own sandbox with a working nested Docker engine, and it survives reconnects.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newLearner, startTestBerth, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { capabilitiesFromStatus } from '../../sandbox-server/src/capabilities.ts';

describe('sandbox and terminal', () => {
  let berth: TestBerth;
  let cookie: string;
  let term: TestTerminal;

  before(async () => {
    berth = await startTestBerth();
    cookie = await newLearner(berth);
  });
  after(async () => {
    term?.close();
    await berth?.destroy();
  });

  test('a new learner gets a sandbox whose shell is ready, as an ordinary user', async () => {
    term = new TestTerminal(berth.origin, { cookie });
    await term.waitForState('ready', 90_000);
    assert.equal(term.states[0], 'creating', `states: ${term.states}`);
    assert.ok(term.states.indexOf('starting') < term.states.indexOf('ready'), `states: ${term.states}`);
    const id = await term.run('id -u; id -un');
    assert.match(id, /\b1000\r?\n/);
    assert.match(id, /learner/);
    const status = await term.run('cat /proc/self/status');
    assert.equal(capabilitiesFromStatus(status, 'CapEff').size, 0, 'the shell holds no effective capability');
    assert.equal(capabilitiesFromStatus(status, 'CapPrm').size, 0, 'nor a permitted one');
  });

  test('a docker command after a background job returns at once (the shell\'s docker function waits only for its own tee)', async () => {
    const began = Date.now();
    const out = await term.run('sleep 60 & docker volume create bg-vol >/dev/null; echo "created=$?"; kill %1', 20_000);
    assert.match(out, /created=0/);
    assert.ok(Date.now() - began < 20_000, `returned in ${Date.now() - began} ms, not after the sleep`);
  });

  test('docker run inside the sandbox uses its own engine', async () => {
    const out = await term.run('docker run --rm hello-world', 60_000);
    assert.match(out, /Berth/i);
    const version = await term.run("docker version --format '{{.Server.Version}}'");
    assert.match(version, /(^|\s)\d+\.\d+\.\d+/);
    // The host engine does not see the learner's nested containers.
    const hostContainers = await berth.runtime.docker.listContainers({ all: true });
    assert.ok(!hostContainers.some((c) => c.Image === 'hello-world'), 'hello-world ran in the nested engine, not on the host');
  });

  test('the sandbox container is labelled and limited as configured', async () => {
    const [sb] = await berth.runtime.listSandboxes();
    assert.ok(sb, 'one sandbox exists');
    const info = await berth.runtime.docker.getContainer(sb.id).inspect();
    assert.equal(info.Config.Labels['org.berth.managed'], 'true');
    assert.equal(info.Config.Labels['org.berth.instance'], berth.config.instance);
    assert.match(info.Config.Labels['org.berth.learner'] ?? '', /^[0-9a-f]{32}$/);
    assert.ok(!Number.isNaN(Date.parse(info.Config.Labels['org.berth.created'] ?? '')));
    assert.equal(info.HostConfig.Memory, berth.config.sandboxMemory);
    assert.equal(info.HostConfig.MemorySwap, berth.config.sandboxMemory, 'no swap');
    assert.equal(info.HostConfig.PidsLimit, berth.config.sandboxPids);
    assert.equal(info.HostConfig.NanoCpus, berth.config.sandboxCpus * 1e9);
    assert.equal(info.HostConfig.Privileged, false);
    // Created as root only for berth-init to mount its disk: PID 1 is the learner's from then on.
    assert.match(await term.run("awk '/^Uid:/ { print \"pid1-euid=\" $3 }' /proc/1/status"), /pid1-euid=1000\b/);
    const volumes = await berth.runtime.listVolumes();
    assert.equal(volumes.length, 1);
    assert.equal(volumes[0]!.learner, info.Config.Labels['org.berth.learner']);
  });

  test('reconnecting reaches the same sandbox and replays the scrollback', async () => {
    await term.run('echo "marker-$((6*7))" > ~/marker.txt; echo scrollback-check');
    const [before] = await berth.runtime.listSandboxes();
    term.close();
    await term.waitForClose();

    term = new TestTerminal(berth.origin, { cookie });
    await term.waitForState('ready');
    await term.waitForOutput(/scrollback-check/, 10_000);
    const replay = term.messages.find((m) => m.t === 'replay');
    assert.ok(replay && replay.t === 'replay' && replay.bytes > 0, 'a replay header with bytes came first');
    assert.match(await term.run('cat ~/marker.txt'), /marker-42/);
    const [after] = await berth.runtime.listSandboxes();
    assert.equal(after!.id, before!.id);
  });

  test('a second learner gets a different sandbox that cannot see the first one', async () => {
    const other = new TestTerminal(berth.origin, { cookie: await newLearner(berth) });
    try {
      await other.waitForState('ready', 90_000);
      assert.match(await other.run('ls ~/marker.txt 2>&1 || true'), /No such file/);
      const sandboxes = await berth.runtime.listSandboxes();
      assert.equal(sandboxes.length, 2);
      assert.notEqual(sandboxes[0]!.learner, sandboxes[1]!.learner);
    } finally {
      other.close();
    }
  });

  test('reset replaces the sandbox with a fresh one and clears the screen', async () => {
    const mySandbox = async () => {
      const res = await fetch(`${berth.origin}/api/session`, { headers: { cookie } });
      const { learner } = (await res.json()) as { learner: string };
      return (await berth.runtime.listSandboxes()).find((s) => s.learner.startsWith(learner));
    };
    const before = await mySandbox();
    assert.ok(before);
    term.control({ t: 'reset' });
    await term.until(() => term.states.lastIndexOf('creating') > term.states.lastIndexOf('ready'), 20_000, 'reset to begin');
    await term.waitForState('ready', 90_000);
    assert.ok(term.messages.findLastIndex((m) => m.t === 'replay') > term.messages.findLastIndex((m) => m.t === 'status' && m.state === 'creating'), 'a new replay replaced the screen');
    assert.doesNotMatch(term.output, /scrollback-check/, 'the old scrollback is gone');
    assert.match(await term.run('ls ~/marker.txt 2>&1 || true'), /No such file/);
    const after = await mySandbox();
    assert.ok(after);
    assert.notEqual(after.id, before.id);
    assert.equal((await berth.runtime.listVolumes()).length, 2, 'the old volume was replaced, not leaked');
  });
});
