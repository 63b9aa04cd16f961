/**
 * Resource exhaustion from inside a sandbox: fork bombs, memory hogs, CPU burners and
 * file-descriptor floods, typed into a real learner's terminal, in the shell and in
 * nested containers. Each test reads the sandbox's cgroup on the host to prove the
 * outer limit is what stopped the attack, and times the host and a second learner's
 * keystroke echo during it. Needs root (it reads /sys/fs/cgroup and /proc of the host)
 * and a cgroup v1 host with the cgroupfs driver, as CI and the test machines are.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../sandbox-server/src/config.ts';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import {
  EchoProbe,
  SandboxCgroup,
  fmtHost,
  fmtLatency,
  hostMemAvailable,
  hostOpenFiles,
  hostTimes,
  resetSandbox,
  sandboxOf,
  sh,
  sleep,
  waitFor,
  type HostTimes,
} from './helpers.ts';

/** Small limits so every attack reaches them quickly on 2 cores. */
const LIMITS = { BERTH_SANDBOX_MEMORY: '512m', BERTH_SANDBOX_CPUS: '0.5', BERTH_SANDBOX_PIDS: '256', BERTH_SANDBOX_NOFILE: '4096' };
/** A bystander's keystroke echo must stay interactive while another sandbox is attacked. */
const ECHO_P95_BOUND_MS = 250;
/** What "the host stays responsive" means: generous, a wedged host misses these by seconds. */
const HOST_BOUND = { spawnMs: 1000, engineMs: 2000, execMs: 5000 };
/**
 * Attacks in nested containers run as this user: the rootless engine maps it into the
 * sandbox's subuid range on the host (100000 + uid - 1), which marks those processes
 * apart from the learner's own (uid 1000; nested root is the learner too).
 */
const NESTED_USER = 4242;
const NESTED_UID_MIN = 100_000;

const MiB = 1024 ** 2;

function assertHostResponsive(h: HostTimes): void {
  assert.ok(h.spawnMs < HOST_BOUND.spawnMs, `host process spawn took ${h.spawnMs} ms`);
  assert.ok(h.engineMs < HOST_BOUND.engineMs, `engine ping took ${h.engineMs} ms`);
  assert.ok(h.execMs < HOST_BOUND.execMs, `exec in another sandbox took ${h.execMs} ms`);
}

describe('resource exhaustion inside a sandbox', () => {
  let berth: TestBerth;
  let cookie: string;
  let attacker: TestTerminal;
  let bystander: EchoProbe;
  let bystanderSandbox: string;

  const cgroup = async () => new SandboxCgroup(await sandboxOf(berth, cookie));

  before(async () => {
    berth = await startTestBerth(testConfig({ ...LIMITS, BERTH_RESET_INTERVAL: '0s' })); // each attack resets its sandbox
    cookie = await newLearner(berth);
    attacker = new TestTerminal(berth.origin, { cookie });
    const bystanderCookie = await newLearner(berth);
    bystander = await EchoProbe.open(berth.origin, bystanderCookie);
    await attacker.waitForState('ready', 90_000);
    bystanderSandbox = await sandboxOf(berth, bystanderCookie);
  });
  after(async () => {
    attacker?.close();
    bystander?.close();
    await berth?.destroy();
  });

  test('a fork bomb, in the shell or in a nested container, stops at the pids limit', async (t) => {
    const limit = berth.config.sandboxPids;
    const echoBefore = await bystander.measure();
    const hostBefore = await hostTimes(berth, bystanderSandbox);
    t.diagnostic(`before: bystander echo ${fmtLatency(echoBefore)}; host ${fmtHost(hostBefore)}`);

    // 1. The classic bomb, typed at the prompt.
    let cg = await cgroup();
    assert.equal(cg.number('pids', 'pids.max'), limit, 'the sandbox cgroup carries BERTH_SANDBOX_PIDS');
    const refusedBefore = cg.field('pids', 'pids.events', 'max');
    attacker.send(':(){ :|:& };:\r');
    const toLimit = await waitFor(() => cg.number('pids', 'pids.current') >= limit, 30_000, 'the shell bomb to reach the pids limit');
    const [echoShell, hostShell] = [await bystander.measure(), await hostTimes(berth, bystanderSandbox)];
    const current = cg.number('pids', 'pids.current');
    const refused = cg.field('pids', 'pids.events', 'max') - refusedBefore;
    t.diagnostic(`shell bomb: limit reached in ${toLimit.toFixed(0)} ms; pids.current ${current}/${limit}, forks refused ${refused}`);
    t.diagnostic(`shell bomb: bystander echo ${fmtLatency(echoShell)}; host ${fmtHost(hostShell)}`);
    assert.ok(current <= limit, `pids.current ${current} stays within ${limit}`);
    assert.ok(refused > 0, 'the kernel refused forks at the limit');
    assert.ok(echoShell.p95 < ECHO_P95_BOUND_MS, `bystander echo p95 ${echoShell.p95} ms during the shell bomb`);
    assertHostResponsive(hostShell);

    const resetShellMs = await resetSandbox(attacker);
    const bombed = cg.id;
    cg = await cgroup();
    assert.notEqual(cg.id, bombed, 'reset replaced the bombed sandbox');
    t.diagnostic(`shell bomb: reset to a fresh sandbox in ${resetShellMs.toFixed(0)} ms; it has ${cg.number('pids', 'pids.current')} pids`);
    assert.ok(cg.number('pids', 'pids.current') < limit / 2, 'the fresh sandbox is not bombed');

    // 2. A bomb in a nested container: bash keeps retrying failed forks, so it holds the limit.
    //    The sleep lets `docker run -d` return before the bomb takes every pid.
    assert.match(await sh(attacker, `docker run -d --name bomb --user ${NESTED_USER} debian bash -c 'sleep 2; while :; do sleep 1000 & done'`, 120_000), /^[0-9a-f]{64}$/m);
    const refusedBeforeNested = cg.field('pids', 'pids.events', 'max');
    const toLimitNested = await waitFor(() => cg.number('pids', 'pids.current') >= limit, 30_000, 'the nested bomb to reach the pids limit');
    const [echoNested, hostNested] = [await bystander.measure(), await hostTimes(berth, bystanderSandbox)];
    const nested = cg.processes().filter((p) => p.uid >= NESTED_UID_MIN && p.cmdline === 'sleep 1000');
    const currentNested = cg.number('pids', 'pids.current');
    const refusedNested = cg.field('pids', 'pids.events', 'max') - refusedBeforeNested;
    t.diagnostic(`nested bomb: limit reached in ${toLimitNested.toFixed(0)} ms; pids.current ${currentNested}/${limit}, forks refused ${refusedNested}; ${nested.length} of the nested container's processes (host uid ${nested[0]?.uid}) sit in the sandbox's pids cgroup`);
    t.diagnostic(`nested bomb: bystander echo ${fmtLatency(echoNested)}; host ${fmtHost(hostNested)}`);
    assert.ok(currentNested <= limit, `pids.current ${currentNested} stays within ${limit}`);
    assert.ok(refusedNested > 0, 'the kernel refused the nested forks at the limit');
    assert.ok(nested.length > limit / 2, `the nested bomb's processes count against the sandbox's limit (${nested.length} found)`);
    assert.ok(echoNested.p95 < ECHO_P95_BOUND_MS, `bystander echo p95 ${echoNested.p95} ms during the nested bomb`);
    assertHostResponsive(hostNested);

    const resetNestedMs = await resetSandbox(attacker);
    t.diagnostic(`nested bomb: reset to a fresh sandbox in ${resetNestedMs.toFixed(0)} ms`);
    assert.match(await sh(attacker, 'echo "alive $((6*7))"'), /alive 42/);
  });

  test('a memory hog, in the shell or in a nested container asking for more, is OOM-killed inside the sandbox', async (t) => {
    const limit = berth.config.sandboxMemory;
    const id = await sandboxOf(berth, cookie);
    const cg = new SandboxCgroup(id);
    assert.equal(cg.number('memory', 'memory.limit_in_bytes'), limit, 'the sandbox cgroup carries BERTH_SANDBOX_MEMORY');
    assert.equal(cg.number('memory', 'memory.memsw.limit_in_bytes'), limit, 'and no swap on top');
    const startedAt = (await berth.runtime.docker.getContainer(id).inspect()).State.StartedAt;
    const kills = () => cg.field('memory', 'memory.oom_control', 'oom_kill');
    const availBefore = hostMemAvailable();

    // 1. In the shell: tail keeps a line that never ends, 2 GiB of it.
    let kills0 = kills();
    let t0 = performance.now();
    const shell = await sh(attacker, 'head -c 2G /dev/zero | tail; echo "exit=$?"', 120_000);
    const shellMs = performance.now() - t0;
    assert.match(shell, /exit=137/, 'the hog was SIGKILLed');
    assert.ok(kills() > kills0, 'by the OOM killer of the sandbox cgroup');
    let peak = cg.number('memory', 'memory.max_usage_in_bytes');
    t.diagnostic(`shell hog: killed after ${shellMs.toFixed(0)} ms, exit 137; sandbox oom_kill ${kills0} -> ${kills()}; peak usage ${(peak / MiB).toFixed(2)} MiB of ${(limit / MiB).toFixed(0)} MiB`);

    // 2. A nested container granted 4 GiB (more than the whole sandbox has) and using it.
    kills0 = kills();
    t0 = performance.now();
    const nested = await sh(attacker, `docker run --name hog -m 4g busybox tail /dev/zero; echo "exit=$?"; docker inspect -f 'granted={{.HostConfig.Memory}}' hog; docker rm hog`, 120_000);
    const nestedMs = performance.now() - t0;
    assert.match(nested, /granted=4294967296/, 'the nested engine granted the 4 GiB it was asked for');
    assert.match(nested, /exit=137/, 'the nested hog was SIGKILLed');
    assert.ok(kills() > kills0, 'by the OOM killer of the sandbox cgroup');
    peak = cg.number('memory', 'memory.max_usage_in_bytes');
    t.diagnostic(`nested hog (-m 4g): killed, exit 137, ${nestedMs.toFixed(0)} ms with the pull; sandbox oom_kill ${kills0} -> ${kills()}; peak usage ${(peak / MiB).toFixed(2)} MiB of ${(limit / MiB).toFixed(0)} MiB (${peak} B), memory.failcnt ${cg.number('memory', 'memory.failcnt')}`);
    // The kernel may overshoot its watermark by a page or a few per-cpu charges, never by more.
    assert.ok(peak <= limit + MiB, `peak ${peak} stayed at the ${limit} limit`);

    // The sandbox, its engine, the server and the host are fine.
    const info = await berth.runtime.docker.getContainer(id).inspect();
    assert.equal(info.State.Running, true, 'the sandbox still runs');
    assert.equal(info.State.StartedAt, startedAt, 'and was not restarted');
    assert.match(await sh(attacker, `echo "alive $((6*7))"; docker info --format 'engine={{.ServerVersion}}'`), /alive 42[\s\S]*engine=\d+\.\d+/);
    const session = await fetch(`${berth.origin}/api/session`, { headers: { cookie } });
    assert.equal(session.status, 200, 'the server answers');
    const availAfter = hostMemAvailable();
    const hostAfter = await hostTimes(berth, bystanderSandbox);
    t.diagnostic(`host MemAvailable ${(availBefore / MiB).toFixed(0)} MiB before, ${(availAfter / MiB).toFixed(0)} MiB after; host ${fmtHost(hostAfter)}`);
    assertHostResponsive(hostAfter);
  });

  test('CPU burners, in the shell and in nested containers, get the CPU quota and no more', async (t) => {
    const quota = berth.config.sandboxCpus;
    const cg = await cgroup();
    assert.equal(cg.number('cpu', 'cpu.cfs_quota_us') / cg.number('cpu', 'cpu.cfs_period_us'), quota, 'the sandbox cgroup carries BERTH_SANDBOX_CPUS');
    const echoBefore = await bystander.measure();
    const idle = await cg.coresUsed(2000);
    t.diagnostic(`before: sandbox uses ${idle.toFixed(3)} cores; bystander echo ${fmtLatency(echoBefore)}`);

    const burn = 'while :; do :; done';
    await sh(attacker, `for i in 1 2; do docker run -d --name burn$i --user ${NESTED_USER} busybox sh -c '${burn}'; done; for i in 1 2; do (${burn}) & done`, 120_000);
    // The nested burners run in the sandbox's own cgroups, so they share its quota.
    await waitFor(() => cg.processes().filter((p) => p.uid >= NESTED_UID_MIN && p.cmdline === `sh -c ${burn}`).length === 2, 30_000, 'both nested burners to run in the sandbox cgroup');
    await sleep(1000);
    const throttled0 = cg.field('cpu', 'cpu.stat', 'nr_throttled');
    const [cores, echoBurn] = await Promise.all([cg.coresUsed(5000), bystander.measure(150, 20)]);
    const throttled = cg.field('cpu', 'cpu.stat', 'nr_throttled') - throttled0;
    t.diagnostic(`4 burners (2 nested, 2 in the shell): sandbox used ${cores.toFixed(3)} cores over 5 s (quota ${quota}); throttled in ${throttled} periods; bystander echo ${fmtLatency(echoBurn)}`);
    assert.ok(cores <= quota * 1.1, `the sandbox used ${cores} cores, more than its ${quota} quota`);
    // Throttling proves the burners used up the quota in some periods; the lower bound is
    // loose because the host's 2 cores are shared with other work (other tests, sandboxes).
    assert.ok(throttled > 0, 'the quota throttled the sandbox');
    assert.ok(cores >= quota * 0.2, `the burners used only ${cores} cores`);
    assert.ok(echoBurn.p95 < ECHO_P95_BOUND_MS, `bystander echo p95 ${echoBurn.p95} ms during the burn`);

    await sh(attacker, 'kill $(jobs -p); docker rm -f burn1 burn2', 60_000);
    const after = await cg.coresUsed(2000);
    t.diagnostic(`after killing the burners: ${after.toFixed(3)} cores`);
    assert.ok(after < quota / 2, `the burn stopped (${after} cores)`);
  });

  test('opening files without end hits the nofile limit, and what a sandbox holds is charged to its memory', async (t) => {
    const limits = (await sh(attacker, 'echo "soft=$(ulimit -Sn) hard=$(ulimit -Hn)"')).match(/soft=(\S+) hard=(\S+)/);
    assert.ok(limits, 'ulimit answered');
    const [soft, hard] = [Number(limits[1]), Number(limits[2])];
    assert.ok(Number.isInteger(soft) && Number.isInteger(hard), `the limits are finite: ${limits[0]}`);
    assert.equal(hard, berth.config.sandboxNofile, 'the hard limit is BERTH_SANDBOX_NOFILE');

    // One process: open until the kernel says no.
    const out = await sh(attacker, '( n=0; while exec {fd}</dev/null; do n=$((n+1)); done; echo "opened=$n" ) 2>&1 | tail -3', 60_000);
    const said = out.split('\n').filter((l) => /Too many open files|opened=/.test(l) && !l.includes('echo'));
    t.diagnostic(`nofile soft ${soft}, hard ${hard}; one shell: ${said.join(' | ')}`);
    assert.match(said.join('\n'), /Too many open files/);
    const opened = Number(/opened=(\d+)/.exec(said.join('\n'))?.[1]);
    assert.ok(opened > soft - 16 && opened <= soft, `the shell opened ${opened} files, about its ${soft} limit`);

    // Many processes, each at its limit: real kernel files, paid for by the sandbox's memory cgroup.
    const cg = await cgroup();
    const holders = 16;
    const [fds0, hostFiles0, kmem0] = [cg.openFiles(), hostOpenFiles(), cg.number('memory', 'memory.kmem.usage_in_bytes')];
    await sh(attacker, `for i in $(seq ${holders}); do ( while exec {fd}</dev/null; do :; done 2>/dev/null; echo "held-$i"; exec sleep 300 ) & done`, 60_000);
    await waitFor(() => (attacker.output.match(/held-\d+/g) ?? []).length >= holders, 60_000, `${holders} processes to fill their tables`);
    const held = cg.openFiles() - fds0;
    const hostHeld = hostOpenFiles() - hostFiles0;
    const perFile = (cg.number('memory', 'memory.kmem.usage_in_bytes') - kmem0) / held;
    const hostDuring = await hostTimes(berth, bystanderSandbox);
    t.diagnostic(`${holders} processes at their limit hold +${held} descriptors (host file-nr +${hostHeld}); sandbox kernel memory +${((perFile * held) / MiB).toFixed(1)} MiB = ${perFile.toFixed(0)} B per file; host ${fmtHost(hostDuring)}`);
    assert.ok(held > holders * (soft - 16) && held <= holders * soft, `${holders} processes hold about ${holders}x${soft} files (+${held})`);
    assert.ok(perFile > 100, `each open file is charged to the sandbox's memory cgroup (${perFile.toFixed(0)} B)`);
    assertHostResponsive(hostDuring);

    // How many files one sandbox can hold: its pids times nofile, or its memory over the cost of a file.
    const fileMax = Number(readFileSync('/proc/sys/fs/file-max', 'utf8'));
    const bound = (c: { sandboxPids: number; sandboxNofile: number; sandboxMemory: number }) => Math.min(c.sandboxPids * c.sandboxNofile, c.sandboxMemory / perFile);
    t.diagnostic(`one sandbox can hold about ${Math.round(bound(berth.config))} open files with this test's limits, ${Math.round(bound(loadConfig({})))} with the defaults; host fs.file-max ${fileMax}`);

    await sh(attacker, 'kill $(jobs -p); wait', 30_000);
    const left = cg.openFiles() - fds0;
    t.diagnostic(`after killing them: ${left} of the ${held} descriptors left`);
    assert.ok(left < held / 100, `the files were released (${left} of ${held} left)`);
    assert.match(await sh(attacker, 'echo "alive $((6*7))"'), /alive 42/, 'the shell is fine afterwards');
  });
});
