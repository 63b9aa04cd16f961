/**
 * Escape attempts from a learner's shell and from a nested `docker run --privileged`
 * container, typed into a real terminal of a real sandbox: the classic container
 * breakouts (host block devices, core_pattern, cgroup v1 release_agent, kernel modules,
 * the host's Docker socket) must all fail, and the host's own settings must read the
 * same afterwards. Also checks how the sandbox container is confined (capabilities,
 * seccomp, read-only root, nothing running as the host's root). Needs root on the
 * engine's host (it reads the host's /proc, /sys and the sandbox's cgroup).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { newLearner, removeInstance, startTestBerth, type TestBerth } from '../helpers/berth.ts';
import { DockerRuntime } from '../../sandbox-server/src/runtime/docker.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { SANDBOX_CAPABILITIES, capabilitiesFromStatus } from '../../sandbox-server/src/capabilities.ts';
import { sandboxOf, sh } from './helpers.ts';

/** The host's settings the attacks aim at, read on the host itself. */
function hostTargets(): Record<string, string> {
  const targets: Record<string, string> = { core_pattern: readFileSync('/proc/sys/kernel/core_pattern', 'utf8') };
  for (const controller of readdirSync('/sys/fs/cgroup')) {
    try {
      targets[`${controller}/release_agent`] = readFileSync(`/sys/fs/cgroup/${controller}/release_agent`, 'utf8');
    } catch {
      // Not a cgroup v1 hierarchy with a release agent.
    }
  }
  return targets;
}

/** Major and minor number of the block device holding the host's root filesystem. */
function hostRootDevice(): { major: number; minor: number } {
  const dev = statSync('/').dev;
  return { major: (dev >> 8) & 0xfff, minor: (dev & 0xff) | ((dev >> 12) & 0xfff00) };
}

/** `name rc=N` lines of a probe script's output, as a map. */
function exitCodes(out: string): Map<string, number> {
  return new Map([...out.matchAll(/^([\w-]+) rc=(\d+)\s*$/gm)].map((m) => [m[1]!, Number(m[2])]));
}

function assertAllFailed(out: string, names: string[]): void {
  const codes = exitCodes(out);
  for (const name of names) {
    assert.ok(codes.has(name), `probe ${name} did not report (output:\n${out})`);
    assert.notEqual(codes.get(name), 0, `probe ${name} succeeded (output:\n${out})`);
  }
}

describe('escape attempts from a sandbox', () => {
  let berth: TestBerth;
  let term: TestTerminal;
  let sandbox: string;
  let before_: Record<string, string>;
  const { major, minor } = hostRootDevice();

  /** Runs a script in the learner's shell (bash) or in a nested privileged container (busybox sh). */
  async function script(body: string, where: 'shell' | 'nested'): Promise<string> {
    // One stream, in order (a container's stdout and stderr reach the terminal separately).
    const b64 = Buffer.from(`exec 2>&1\n${body}`).toString('base64');
    const runner = where === 'shell' ? 'bash' : 'docker run --rm -i --privileged busybox sh';
    const out = await sh(term, `echo ${b64} | base64 -d | ${runner} 2>&1`, 120_000);
    return out.slice(out.indexOf('\n') + 1); // without the echoed command line
  }

  before(async () => {
    before_ = hostTargets();
    berth = await startTestBerth();
    const cookie = await newLearner(berth);
    term = new TestTerminal(berth.origin, { cookie });
    await term.waitForState('ready', 90_000);
    sandbox = await sandboxOf(berth, cookie);
    // Pulled once from the catalog registry, for the nested probes.
    assert.match(await sh(term, 'docker pull -q busybox', 120_000), /busybox/);
  });
  after(async () => {
    term?.close();
    await berth?.destroy();
  });

  test('the container is confined: capabilities, seccomp, read-only root, no host root process', async (t) => {
    const info = await berth.runtime.docker.getContainer(sandbox).inspect();
    const hc = info.HostConfig;
    t.diagnostic(`CapAdd ${hc.CapAdd?.join(',')}; CapDrop ${hc.CapDrop?.join(',')}; ReadonlyRootfs ${hc.ReadonlyRootfs}`);
    assert.deepEqual(hc.CapDrop, ['ALL']);
    assert.deepEqual([...(hc.CapAdd ?? [])].sort(), [...SANDBOX_CAPABILITIES].sort());
    assert.equal(hc.Privileged, false);
    assert.equal(hc.ReadonlyRootfs, true);
    const seccomp = (hc.SecurityOpt ?? []).filter((o: string) => o.startsWith('seccomp='));
    assert.equal(seccomp.length, 1, 'one seccomp profile');
    assert.ok(seccomp[0]!.includes('SCMP_ACT_ERRNO'), 'a filtering profile, not unconfined');
    // Every process of the sandbox (the engine, its containers, the shell), seen from the host.
    const procs = readFileSync(`/sys/fs/cgroup/pids/docker/${info.Id}/cgroup.procs`, 'utf8').split('\n').filter(Boolean);
    const uids = procs.flatMap((pid) => {
      try {
        return [Number(/^Uid:\s+\d+\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1])];
      } catch {
        return []; // exited meanwhile
      }
    });
    t.diagnostic(`${uids.length} processes in the sandbox; effective uids on the host: ${[...new Set(uids)].sort((a, b) => a - b).join(', ')}`);
    assert.ok(uids.length > 3, 'the engine and the shell are there');
    assert.ok(!uids.includes(0), 'no process of the sandbox runs as the host root');
    const root = await sh(term, 'touch /usr/bin/x 2>&1; echo "rootfs rc=$?"; touch /etc/x 2>&1; echo "etc rc=$?"');
    assertAllFailed(root, ['rootfs', 'etc']);
    assert.match(root, /Read-only file system/);
    // The raw disk image (the learner's filesystem) is root's alone.
    const image = await sh(term, 'ls /var/lib/berth 2>&1; echo "list rc=$?"; head -c1 /var/lib/berth/disk.img 2>&1; echo "read rc=$?"');
    assertAllFailed(image, ['list', 'read']);
    assert.match(image, /Permission denied/);
  });

  test("the learner's shell: no capabilities, seccomp filtering, no setuid program but newuidmap/newgidmap", async (t) => {
    const status = await sh(term, 'cat /proc/self/status');
    assert.equal(capabilitiesFromStatus(status, 'CapEff').size, 0, 'no effective capability');
    assert.equal(capabilitiesFromStatus(status, 'CapPrm').size, 0, 'no permitted capability');
    const bounding = capabilitiesFromStatus(status, 'CapBnd');
    t.diagnostic(`CapBnd: ${[...bounding].join(',')}`);
    assert.ok([...bounding].every((c) => SANDBOX_CAPABILITIES.includes(c)), `bounding set ${[...bounding]}`);
    assert.match(status, /^Seccomp:\s+2$/m, 'seccomp mode 2 (filter)');
    const found = await script('find / -xdev -perm /6000 2>/dev/null | sort | sed "s/^/setuid: /"', 'shell');
    const setuid = [...found.matchAll(/^setuid: (\S+)/gm)].map((m) => m[1]);
    assert.deepEqual(setuid, ['/usr/bin/newgidmap', '/usr/bin/newuidmap']);
    const options = await script('findmnt -no OPTIONS --target ~', 'shell');
    assert.match(options, /nosuid/, "the learner's disk ignores setuid bits");
    assert.match(options, /nodev/, "and device nodes");
  });

  test('host block devices: none visible, none can be made or mounted (shell and user namespace)', async (t) => {
    const out = await script(
      [
        'echo "blockdevs=$(find /dev -type b | wc -l)"',
        `mknod /tmp/hd b ${major} ${minor}; echo "mknod rc=$?"`,
        `unshare -Urm sh -c 'mknod /tmp/hd b ${major} ${minor} && mkdir -p /tmp/m && mount -t ext4 /tmp/hd /tmp/m'; echo "userns-mknod-mount rc=$?"`,
      ].join('\n'),
      'shell',
    );
    t.diagnostic(`host root device ${major}:${minor}\n${out}`);
    assert.match(out, /^blockdevs=0$/m, 'no block device node in the sandbox');
    assertAllFailed(out, ['mknod', 'userns-mknod-mount']);
  });

  test('kernel settings, cgroup release_agent and kernel modules are out of reach from the shell', async (t) => {
    const out = await script(
      [
        `echo '|/tmp/x %p' > /proc/sys/kernel/core_pattern; echo "core-pattern rc=$?"`,
        // A fresh procfs in a new user and pid namespace: the two-command escape of a root nested engine.
        `unshare -Urmpf --mount-proc sh -c "echo '|/tmp/x %p' > /proc/sys/kernel/core_pattern"; echo "userns-core-pattern rc=$?"`,
        // CVE-2022-0492: a cgroup v1 hierarchy mounted in a new user+cgroup namespace, then its release_agent.
        `unshare -UrmC sh -c 'mkdir -p /tmp/cg && mount -t cgroup -o memory cgroup /tmp/cg && echo /tmp/x > /tmp/cg/release_agent'; echo "release-agent rc=$?"`,
        `mkdir -p /tmp/cg2; mount -t cgroup -o memory cgroup /tmp/cg2; echo "cgroup-mount rc=$?"`,
        // finit_module(0, "", 0) and init_module(buf, 64, ""): x86-64 syscall numbers 313 and 175.
        `perl -e 'my $p = ""; syscall(313, 0, $p, 0); print "finit_module errno=", $!+0, "\\n"'`,
        `perl -e 'my $b = "x" x 64; my $p = ""; syscall(175, $b, 64, $p); print "init_module errno=", $!+0, "\\n"'`,
      ].join('\n'),
      'shell',
    );
    t.diagnostic(out);
    assertAllFailed(out, ['core-pattern', 'userns-core-pattern', 'release-agent', 'cgroup-mount']);
    assert.match(out, /^finit_module errno=1$/m, 'finit_module: EPERM');
    assert.match(out, /^init_module errno=1$/m, 'init_module: EPERM');
    assert.deepEqual(hostTargets(), before_, "the host's core_pattern and release agents are unchanged");
  });

  test('a nested --privileged container cannot touch the host either', async (t) => {
    const out = await script(
      [
        'echo "capeff=$(grep CapEff /proc/self/status | cut -f2)"',
        'echo "uidmap=$(head -n1 /proc/self/uid_map | tr -s " " " ")"',
        `mknod /tmp/hd b ${major} ${minor}; echo "mknod rc=$?"`,
        `mkdir -p /tmp/m; mount -t ext4 /tmp/hd /tmp/m; echo "mount rc=$?"`,
        `echo '|/tmp/x %p' > /proc/sys/kernel/core_pattern; echo "core-pattern rc=$?"`,
        `mkdir -p /tmp/p; mount -t proc proc /tmp/p && echo '|/tmp/x %p' > /tmp/p/sys/kernel/core_pattern; echo "fresh-proc-core-pattern rc=$?"`,
        `mkdir -p /tmp/cg; mount -t cgroup -o memory cgroup /tmp/cg && echo /tmp/x > /tmp/cg/release_agent; echo "release-agent rc=$?"`,
        `head -c 4096 /dev/urandom > /tmp/m.ko; insmod /tmp/m.ko; echo "insmod rc=$?"`,
        'ls /var/run/docker.sock /run/docker.sock; echo "host-socket rc=$?"',
      ].join('\n'),
      'nested',
    );
    t.diagnostic(out);
    // The probes ran with every capability (of the nested user namespace), as root there...
    const capeff = /^capeff=([0-9a-f]+)$/m.exec(out)?.[1];
    assert.ok(capeff && capabilitiesFromStatus(`CapEff:\t${capeff}\n`, 'CapEff').has('SYS_ADMIN'), `privileged: ${out}`);
    // ...which is the learner (uid 1000) on the host, not root.
    assert.match(out, /^uidmap= ?0 1000 1\s*$/m, 'nested root is the learner on the host');
    assertAllFailed(out, ['mknod', 'mount', 'core-pattern', 'fresh-proc-core-pattern', 'release-agent', 'insmod', 'host-socket']);
    assert.match(out, /can't insert '\/tmp\/m.ko': Operation not permitted/, 'init_module refused for want of privilege, not for the junk module');
    assert.deepEqual(hostTargets(), before_, "the host's core_pattern and release agents are unchanged");
  });

  test("the host's Docker socket is not inside; docker and /var/run/docker.sock reach the sandbox's own engine", async (t) => {
    const out = await script(
      [
        'grep -q docker.sock /proc/self/mountinfo; echo "socket-mounted rc=$?"',
        'echo "link=$(readlink /var/run/docker.sock)"',
        'echo "DOCKER_HOST=$DOCKER_HOST"',
        `echo "engine=$(docker info --format '{{.ID}}')"`,
        'echo "var-run-engine=$(curl -sf --unix-socket /var/run/docker.sock http://localhost/info | jq -r .ID)"',
      ].join('\n'),
      'shell',
    );
    t.diagnostic(out);
    assertAllFailed(out, ['socket-mounted']);
    const hostId = ((await berth.runtime.docker.info()) as { ID: string }).ID;
    const nestedId = /^engine=(\S+)$/m.exec(out)?.[1];
    assert.ok(nestedId, `the nested engine answered: ${out}`);
    assert.notEqual(nestedId, hostId, 'a different engine than the host one');
    assert.match(out, /^DOCKER_HOST=unix:\/\/\/home\/learner\/\.run\/docker\.sock$/m);
    // /var/run/docker.sock, where tutorials look, is only a link to that same socket.
    assert.match(out, /^link=\/home\/learner\/\.run\/docker\.sock$/m);
    assert.equal(/^var-run-engine=(\S+)$/m.exec(out)?.[1], nestedId, '/var/run/docker.sock is the nested engine too');
  });
});

describe('BERTH_SANDBOX_RUNTIME', () => {
  test('a runtime the engine does not have stops the start, naming it and the ones it has', async () => {
    const instance = `test-${randomBytes(4).toString('hex')}`;
    const runtime = new DockerRuntime({
      instance,
      image: process.env.BERTH_SANDBOX_IMAGE ?? 'berth/sandbox:latest',
      limits: { memoryBytes: 1024 ** 3, cpus: 1, pids: 1024 },
      registry: false,
      runtime: 'berth-no-such-runtime',
    });
    try {
      await assert.rejects(runtime.prepare(), /no runtime "berth-no-such-runtime" \(BERTH_SANDBOX_RUNTIME\); it has: .*runc/);
      assert.deepEqual(await runtime.listSandboxes(), [], 'nothing was started');
    } finally {
      await removeInstance(runtime, instance);
    }
  });
});
