/**
 * Filling a sandbox's disk, from the learner's shell and from a nested container, and
 * flooding logs: the learner gets "No space left on device" at the configured size
 * (BERTH_SANDBOX_DISK, small here), the host gives the sandbox no more than that,
 * another learner and the server carry on, and deleting the files makes the sandbox
 * whole again. A nested log flood stays capped (daemon.json); the outer log is
 * not the learner's to write, and capped too (json-file).
 * Needs root on the engine's host (it stats the sandbox's disk image in its volume).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, statfsSync } from 'node:fs';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { sandboxOf, sh, sleep } from './helpers.ts';

const DISK = '1g';
const DISK_BYTES = 1024 ** 3;
const MiB = 1024 ** 2;
/** The nested engine's json-file cap (images/sandbox/berth-entrypoint): 2 files of 10 MB. */
const NESTED_LOG_CAP = 2 * 10 * MiB;
/** The outer container's json-file cap (runtime/docker.ts): 1 file of 1 MB. */
const OUTER_LOG_CAP = 1 * MiB;

const fmt = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

describe('a full sandbox disk', () => {
  let berth: TestBerth;
  let term: TestTerminal;
  let sandbox: string;
  /** The sandbox's disk image on the host, in its volume. */
  let image: string;
  let dockerRoot: string;

  /** Bytes the image takes on the host (it is sparse). */
  const allocated = () => statSync(image).blocks * 512;
  const hostFree = () => {
    const s = statfsSync(dockerRoot);
    return s.bavail * s.bsize;
  };
  /** A `df -B1` field of the learner's home, read inside the sandbox. */
  async function df(field: 'size' | 'avail' | 'used'): Promise<number> {
    const out = await sh(term, `df -B1 --output=${field} ~ | tail -n1 | sed 's/^ */${field}=/'`);
    const m = new RegExp(`^${field}=(\\d+)\\s*$`, 'm').exec(out);
    assert.ok(m, `df answered: ${out}`);
    return Number(m[1]);
  }

  before(async () => {
    berth = await startTestBerth(testConfig({ BERTH_SANDBOX_DISK: DISK }));
    const cookie = await newLearner(berth);
    term = new TestTerminal(berth.origin, { cookie });
    await term.waitForState('ready', 90_000);
    sandbox = await sandboxOf(berth, cookie);
    const [volume] = await berth.runtime.listVolumes();
    assert.ok(volume, 'the sandbox has a volume');
    image = `${(await berth.runtime.docker.getVolume(volume.name).inspect()).Mountpoint}/disk.img`;
    dockerRoot = ((await berth.runtime.docker.info()) as { DockerRootDir: string }).DockerRootDir;
    assert.match(await sh(term, 'docker pull -q busybox', 120_000), /busybox/);
  });
  after(async () => {
    term?.close();
    await berth?.destroy();
  });

  test('the disk is the configured size, and sparse on the host', async (t) => {
    const size = await df('size');
    t.diagnostic(`BERTH_SANDBOX_DISK=${DISK}: the learner sees ${fmt(size)} (ext4 metadata takes the rest); image file ${fmt(statSync(image).size)}, ${fmt(allocated())} allocated on the host`);
    assert.equal(statSync(image).size, DISK_BYTES, 'the image file has the configured size');
    assert.ok(size > 0.9 * DISK_BYTES && size <= DISK_BYTES, `df size ${size}`);
    assert.ok(allocated() < 0.25 * DISK_BYTES, `a fresh disk takes little host space (${fmt(allocated())})`);
  });

  test('filling it from the shell: "No space left on device", and the host gives no more than the bound', async (t) => {
    const free0 = hostFree();
    const started = performance.now();
    const out = await sh(term, 'dd if=/dev/zero of=~/fill bs=4M 2>&1; echo "dd rc=$?"', 180_000);
    t.diagnostic(`dd: ${out.split('\n').filter((l) => /space|copied|rc=/.test(l) && !l.includes('__done')).join(' | ')} (${Math.round(performance.now() - started)} ms)`);
    assert.match(out, /No space left on device/);
    assert.match(out, /^dd rc=1\s*$/m);
    const avail = await df('avail');
    const used = allocated();
    const dropped = free0 - hostFree();
    t.diagnostic(`full: ${fmt(avail)} available inside; image ${fmt(used)} allocated on the host; host free space dropped ${fmt(dropped)} (other work on the host counts too)`);
    assert.ok(avail < 16 * MiB, `nothing left inside (${avail} bytes)`);
    assert.ok(used <= DISK_BYTES, `the image never takes more than the bound on the host (${used} bytes)`);
    assert.ok(used > 0.85 * DISK_BYTES, `the fill really reached the host (${used} bytes)`);
    // Loose on purpose: other tests on this machine write too.
    assert.ok(dropped < 1.5 * DISK_BYTES, `host free space dropped by ${fmt(dropped)}`);
    // The engine still answers; the server and another learner carry on.
    assert.match(await sh(term, 'docker ps --format "{{.ID}}" >/dev/null; echo "ps rc=$?"'), /^ps rc=0\s*$/m);
    assert.equal((await fetch(`${berth.origin}/api/session`)).status, 200);
    const other = new TestTerminal(berth.origin, { cookie: await newLearner(berth) });
    try {
      await other.waitForState('ready', 90_000);
      assert.match(await sh(other, 'echo fine > ~/x && cat ~/x'), /^fine\s*$/m);
    } finally {
      other.close();
    }
  });

  test('deleting the files makes the sandbox whole again (and gives the space back to the host)', async (t) => {
    assert.match(await sh(term, 'rm -f ~/fill; sync; echo "rm rc=$?"'), /^rm rc=0\s*$/m);
    // discard: the freed blocks go back to the host (the loop device punches holes).
    let used = allocated();
    for (let i = 0; i < 100 && used > 0.5 * DISK_BYTES; i++) {
      await sleep(100);
      used = allocated();
    }
    t.diagnostic(`after rm: ${fmt(await df('avail'))} available inside; image ${fmt(used)} allocated on the host`);
    assert.ok((await df('avail')) > 0.85 * DISK_BYTES);
    assert.ok(used < 0.5 * DISK_BYTES, `the host got the space back (${fmt(used)} still allocated)`);
    assert.match(await sh(term, 'docker run --rm busybox echo nested-fine', 60_000), /^nested-fine\s*$/m);
  });

  test('filling it from a nested container: the same error, and the sandbox recovers', async (t) => {
    const out = await sh(term, 'docker run --name filler busybox dd if=/dev/zero of=/big bs=4M 2>&1; echo "nested-dd rc=$?"', 180_000);
    t.diagnostic(`nested dd: ${out.split('\n').filter((l) => /space|rc=/.test(l) && !l.includes('__done')).join(' | ')}; image ${fmt(allocated())} allocated`);
    assert.match(out, /No space left on device/);
    assert.match(out, /^nested-dd rc=1\s*$/m);
    assert.ok(allocated() <= DISK_BYTES);
    assert.match(await sh(term, 'docker rm filler >/dev/null; echo "rm rc=$?"', 60_000), /^rm rc=0\s*$/m);
    assert.ok((await df('avail')) > 0.85 * DISK_BYTES, 'removing the container freed its layer');
    assert.match(await sh(term, 'docker run --rm busybox echo nested-fine', 60_000), /^nested-fine\s*$/m);
    assert.match(await sh(term, 'echo fine > ~/after && cat ~/after'), /^fine\s*$/m);
  });

  test("a nested container's log flood stays capped by the nested engine's daemon.json", async (t) => {
    await sh(term, 'docker run -d --name flood busybox yes berth-log-flood-line >/dev/null', 60_000);
    const logDir = (await sh(term, `dirname "$(docker inspect --format '{{.LogPath}}' flood)" | sed 's/^/dir=/'`)).match(/^dir=(\S+)/m)?.[1];
    assert.ok(logDir, 'the nested container has a json log');
    let max = 0;
    for (let i = 0; i < 30; i++) {
      await sleep(500);
      const total = Number(/^total=(\d+)/m.exec(await sh(term, `echo "total=$(cat ${logDir}/*-json.log* | wc -c)"`))?.[1]);
      max = Math.max(max, total);
      if (i >= 10 && max > NESTED_LOG_CAP * 0.75) break;
    }
    await sh(term, 'docker rm -f flood >/dev/null', 60_000);
    t.diagnostic(`nested log files peaked at ${fmt(max)} (cap ${fmt(NESTED_LOG_CAP)} + the line being written)`);
    assert.ok(max > 10 * MiB, `the flood rotated at least once (peak ${fmt(max)}), so the cap was tested`);
    assert.ok(max <= NESTED_LOG_CAP + MiB, `nested logs capped (peak ${fmt(max)})`);
  });

  test("the sandbox's own log: the learner cannot write to it, and it is capped", async (t) => {
    // PID 1 is the learner's tini, but its stdout is the engine's pipe (root's): not theirs to open.
    const out = await sh(term, 'echo flood > /proc/1/fd/1; echo "stdout rc=$?"; timeout 2 yes > /proc/1/fd/2; echo "stderr rc=$?"');
    assert.match(out, /^stdout rc=1\s*$/m, out);
    assert.match(out, /^stderr rc=1\s*$/m, out);
    assert.match(out, /Permission denied/);
    const info = await berth.runtime.docker.getContainer(sandbox).inspect();
    assert.deepEqual(info.HostConfig.LogConfig, { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '1' } });
    // What it holds after everything above (fills, ENOSPC, floods): berth's own lines only.
    const size = statSync(info.LogPath).size;
    t.diagnostic(`outer json log: ${size} bytes (cap ${fmt(OUTER_LOG_CAP)})`);
    assert.ok(size <= OUTER_LOG_CAP, `outer log capped (${size} bytes)`);
  });
});

describe('disks of sandboxes started together', () => {
  test('each sandbox mounts its own disk, however their starts interleave', async (t) => {
    const berth = await startTestBerth(testConfig({ BERTH_SANDBOX_DISK: DISK }));
    const runtime = berth.runtime;
    const learners = ['1', '2', '3', '4'].map((d) => d.repeat(64));
    try {
      const boot = async () => {
        const infos = await Promise.all(learners.map(async (l) => (await runtime.find(l)) ?? runtime.create(l)));
        await Promise.all(infos.map((i) => runtime.start(i.id)));
        return infos;
      };
      /** Once the sandbox is ready (its disk mounted, its engine up): the file on its disk. */
      const read = async (id: string) => {
        for (let i = 0; i < 300 && (await runtime.exec(id, ['berth-ready'], 5000)).exitCode !== 0; i++) await sleep(100);
        const r = await runtime.exec(id, ['bash', '-c', 'cat ~/whose.txt 2>/dev/null || echo none'], 10_000);
        return r.stdout.trim();
      };
      const first = await boot();
      for (const [i, info] of first.entries()) {
        assert.equal(await read(info.id), 'none', 'a fresh disk is empty');
        const wrote = await runtime.exec(info.id, ['bash', '-c', `echo ${learners[i]!.slice(0, 8)} > ~/whose.txt && sync`], 10_000);
        assert.equal(wrote.exitCode, 0, `write: ${wrote.stderr}`);
      }
      await Promise.all(first.map((i) => runtime.stop(i.id)));
      const again = await boot(); // all four attach their disks at the same moment
      const seen = await Promise.all(again.map((i) => read(i.id)));
      t.diagnostic(`after a simultaneous restart each read: ${seen.join(', ')}`);
      for (const [i, info] of again.entries()) {
        if (seen[i] === learners[i]!.slice(0, 8)) continue;
        const r = await runtime.exec(info.id, ['bash', '-c', 'ls -la ~; df ~; cat ~/whose.txt'], 10_000);
        t.diagnostic(`sandbox ${i}: ${r.stdout} ${r.stderr} ${await runtime.logsTail(info.id, 20)}`);
      }
      assert.deepEqual(seen, learners.map((l) => l.slice(0, 8)), 'every sandbox found its own file on its own disk');
    } finally {
      await berth.destroy();
    }
  });
});
