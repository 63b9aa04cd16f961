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
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { newLearner, removeInstance, startTestBerth, type TestBerth } from '../helpers/berth.ts';
import { DockerRuntime } from '../../sandbox-server/src/runtime/docker.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { ROOTLESS_CAPABILITIES, SANDBOX_CAPABILITIES, capabilitiesFromStatus } from '../../sandbox-server/src/capabilities.ts';
import { SandboxCgroup, sandboxOf, sh, waitFor } from './helpers.ts';

const run = promisify(execFile);
const EPERM = 1;
const ENOSYS = 38;

/**
 * Syscalls Docker's default profile allows a container with CAP_SYS_ADMIN, probed with
 * perl's syscall() (x86-64 numbers); each prints `name errno=N`, 0 when the call
 * succeeded. Each probe is one the kernel here lets through somewhere without seccomp:
 * perf_event_open on oneself, quotactl(Q_SYNC), fanotify_init with FID reports and an
 * O_PATH open_tree need no privilege; fsopen("ext4") and fspick need root of a user
 * namespace (CVE-2022-0185 started there); bpf on map fd -1, fsconfig, fsmount and
 * move_mount on fd -1 answer EBADF. So EPERM or ENOSYS here is seccomp's answer.
 */
const SYSCALL_PROBES = String.raw`
sub probe { my ($name, $nr, @a) = @_; $! = 0; my $r = syscall($nr, @a); printf "%s errno=%d\n", $name, $r == -1 ? $! + 0 : 0; }
my $insns = pack('CCsl', 0xb7, 0, 0, 0) . pack('CCsl', 0x95, 0, 0, 0);   # r0 = 0; exit
probe('getpid', 39);
probe('bpf-prog-load', 321, 5, pack('LLPp', 1, 2, $insns, 'GPL') . "\0" x 104, 128);
probe('bpf-map-lookup', 321, 1, pack('l', -1) . "\0" x 60, 64);
probe('perf_event_open', 298, pack('LLQ', 1, 128, 0) . pack('Q', 0) x 3 . pack('Q', 0x61) . "\0" x 80, 0, -1, -1, 0);
probe('quotactl', 179, 0x80000100, 0, 0, 0);
probe('lookup_dcookie', 212, 0, 0, 0);
probe('fanotify_init', 300, 0x200, 0);
probe('syslog', 103, 10, 0, 0);
probe('fsopen', 430, 'ext4', 0);
probe('fsconfig', 431, -1, 6, 0, 0, 0);
probe('fsmount', 432, -1, 0, 0);
probe('fspick', 433, -100, '/', 0);
probe('open_tree', 428, -100, '/', 0);
probe('move_mount', 429, -1, '', -100, '/tmp', 4);
`;
/** Refused with EPERM (the names of SYSCALL_PROBES). */
const KERNEL_SURFACE = ['bpf-prog-load', 'bpf-map-lookup', 'perf_event_open', 'quotactl', 'lookup_dcookie', 'fanotify_init', 'syslog'];
/** The new mount API: refused with ENOSYS, so mount(8) falls back to mount(2). */
const MOUNT_API = ['fsopen', 'fsconfig', 'fsmount', 'fspick', 'open_tree', 'move_mount'];

/** A process's status file on the host, or undefined once it has exited. */
function hostStatus(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
}

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
    // Pulled once from the catalog registry, for the nested probes (debian has perl).
    assert.match(await sh(term, 'docker pull -q busybox', 120_000), /busybox/);
    assert.match(await sh(term, 'docker pull -q debian', 120_000), /debian/);
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
    // No DAC_OVERRIDE: newuidmap/newgidmap need only their file capabilities. DAC_READ_SEARCH
    // is the checker's alone (its processes are checked below, and open_by_handle_at is denied).
    assert.deepEqual([...(hc.CapAdd ?? [])].sort(), ['DAC_READ_SEARCH', 'MKNOD', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_ADMIN']);
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

  test("the learner's shell: no capabilities, not even in its bounding set, seccomp filtering, no setuid program", async (t) => {
    const status = await sh(term, 'cat /proc/self/status');
    for (const field of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'] as const) {
      const caps = capabilitiesFromStatus(status, field);
      t.diagnostic(`${field}: ${[...caps].join(',') || '-'}`);
      assert.equal(caps.size, 0, `${field} of the shell is empty`);
    }
    assert.match(status, /^NoNewPrivs:\s+1$/m, 'no_new_privs: no program it runs gains a privilege');
    assert.match(status, /^Seccomp:\s+2$/m, 'seccomp mode 2 (filter)');
    const found = await script('find / -xdev -perm /6000 2>/dev/null | sort | sed "s/^/setuid: /"; /usr/sbin/getcap -r / 2>/dev/null | sort | sed "s/^/filecap: /"', 'shell');
    const setuid = [...found.matchAll(/^setuid: (\S+)/gm)].map((m) => m[1]);
    assert.deepEqual(setuid, [], 'no setuid or setgid program');
    // newuidmap/newgidmap carry one capability each instead of a setuid bit: no path to uid 0.
    const filecaps = [...found.matchAll(/^filecap: (.+?)\s*$/gm)].map((m) => m[1]);
    assert.deepEqual(filecaps, ['/usr/bin/newgidmap cap_setgid=ep', '/usr/bin/newuidmap cap_setuid=ep']);
    const options = await script('findmnt -no OPTIONS --target ~', 'shell');
    assert.match(options, /nosuid/, "the learner's disk ignores setuid bits");
    assert.match(options, /nodev/, "and device nodes");
  });

  test('processes the server starts (checks, the events watcher) hold no capability; the engine only SETUID and SETGID', async (t) => {
    const check = await berth.runtime.exec(sandbox, ['cat', '/proc/self/status'], 10_000);
    assert.equal(check.exitCode, 0, check.stderr);
    assert.match(check.stdout, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m, 'the check runs as the learner');
    assert.equal(capabilitiesFromStatus(check.stdout, 'CapBnd').size, 0, 'a check exec: empty bounding set');
    assert.match(check.stdout, /^NoNewPrivs:\s+1$/m);
    // The checker: its own uid, one capability (to read the learner's files), and not the
    // open_by_handle_at that capability would allow ("shocker": files outside the container).
    const checker = await berth.runtime.exec(sandbox, ['bash', '-c', `cat /proc/self/status; perl -e 'sub probe { my ($name, $nr, @a) = @_; $! = 0; my $r = syscall($nr, @a); printf "%s errno=%d\\n", $name, $r == -1 ? $! + 0 : 0; } probe("open_by_handle_at", 304, -100, pack("LL", 8, 1) . "\\0" x 8, 0);'`], 10_000, 'checker');
    assert.equal(checker.exitCode, 0, checker.stderr);
    assert.match(checker.stdout, /^Uid:\s+1001\s+1001\s+1001\s+1001$/m, 'checks run as berth-check');
    for (const field of ['CapBnd', 'CapEff', 'CapPrm'] as const) {
      assert.deepEqual([...capabilitiesFromStatus(checker.stdout, field)], ['DAC_READ_SEARCH'], `the checker's ${field}`);
    }
    assert.match(checker.stdout, /^NoNewPrivs:\s+1$/m);
    assert.match(checker.stdout, /^open_by_handle_at errno=1$/m, 'open_by_handle_at: EPERM from seccomp');
    const cgroup = new SandboxCgroup(sandbox);
    const stop = await berth.runtime.watchEvents(sandbox, () => {});
    try {
      await waitFor(() => cgroup.processes().some((p) => p.cmdline.startsWith('docker events')), 10_000, 'the events watcher');
      // Every process of the sandbox in the host's user namespace (nested containers have
      // a full bounding set in their own), read on the host.
      const hostNs = readlinkSync('/proc/self/ns/user');
      const seen: string[] = [];
      for (const p of cgroup.processes()) {
        const status = hostStatus(p.pid);
        let ns: string;
        try {
          ns = readlinkSync(`/proc/${p.pid}/ns/user`);
        } catch {
          continue; // exited meanwhile
        }
        if (!status || ns !== hostNs) continue;
        const bounding = [...capabilitiesFromStatus(status, 'CapBnd')].sort();
        seen.push(`${p.cmdline.slice(0, 40)}: ${bounding.join(',') || '-'}`);
        if (p.cmdline.startsWith('docker events')) assert.deepEqual(bounding, [], 'the events watcher: empty bounding set');
        else if (/^Uid:\s+1001\s/m.test(status)) assert.ok(bounding.every((c) => c === 'DAC_READ_SEARCH'), `a check, ${p.cmdline}: bounding set ${bounding}`);
        else assert.ok(bounding.every((c) => ROOTLESS_CAPABILITIES.includes(c)), `${p.cmdline}: bounding set ${bounding}`);
        assert.equal(capabilitiesFromStatus(status, 'CapEff').size, 0, `${p.cmdline}: no effective capability`);
      }
      t.diagnostic(seen.join('\n'));
      const info = await berth.runtime.docker.getContainer(sandbox).inspect();
      const init = [...capabilitiesFromStatus(hostStatus(info.State.Pid)!, 'CapBnd')].sort();
      assert.deepEqual(init, [...ROOTLESS_CAPABILITIES].sort(), "the engine's tree keeps only what newuidmap/newgidmap need");
    } finally {
      stop();
    }
  });

  test('kernel surface CAP_SYS_ADMIN would open is refused: shell, user namespace, nested --privileged', async (t) => {
    const b64 = Buffer.from(SYSCALL_PROBES).toString('base64');
    const runners = {
      shell: 'perl',
      'user namespace': 'unshare -Urm perl',
      'nested --privileged': 'docker run --rm -i --privileged debian perl',
    };
    for (const [where, runner] of Object.entries(runners)) {
      const out = await sh(term, `echo ${b64} | base64 -d | ${runner} 2>&1`, 120_000);
      const errno = new Map([...out.matchAll(/^([\w-]+) errno=(\d+)\s*$/gm)].map((m) => [m[1]!, Number(m[2])]));
      t.diagnostic(`${where}: ${[...errno].map(([k, v]) => `${k}=${v}`).join(' ')}`);
      assert.equal(errno.get('getpid'), 0, `${where}: the control syscall works (output:\n${out})`);
      for (const name of KERNEL_SURFACE) assert.equal(errno.get(name), EPERM, `${where}: ${name} refused with EPERM`);
      for (const name of MOUNT_API) assert.equal(errno.get(name), ENOSYS, `${where}: ${name} refused with ENOSYS`);
    }
    // The control for ENOSYS: mount(8) falls back to mount(2) and mounts in a user namespace.
    const mount = await script(`unshare -Urm sh -c 'mkdir -p /tmp/t && mount -t tmpfs t /tmp/t && findmnt -no FSTYPE /tmp/t'; echo "userns-mount rc=$?"`, 'shell');
    assert.match(mount, /^tmpfs\s*$/m, mount);
    assert.match(mount, /^userns-mount rc=0\s*$/m, mount);
  });

  test('once its disk is mounted, a sandbox cannot open a loop device, not even as root with MKNOD', async (t) => {
    const devices = new SandboxCgroup(sandbox).text('devices', 'devices.list');
    t.diagnostic(devices.replace(/\n/g, ', '));
    assert.doesNotMatch(devices, /^b 7:/m, 'no loop device allowed');
    assert.doesNotMatch(devices, /^c 10:237 /m, 'no /dev/loop-control');
    // Root in the sandbox with the container's capabilities (what a setuid or kernel bug
    // could give): it makes the nodes, of its own disk's device and another one, and
    // cannot open them.
    const { stdout } = await run('docker', [
      'exec', '-u', 'root', sandbox, 'bash', '-c',
      [
        'own=$(findmnt -no MAJ:MIN /home/learner | tr -d "[:space:]" | cut -d: -f2); echo "own=$own"',
        'for n in $own $((own + 1)); do mknod /tmp/l$n b 7 $n; echo "mknod-$n rc=$?"; head -c 512 /tmp/l$n >/dev/null; echo "open rc=$?"; rm -f /tmp/l$n; done',
        'mknod /tmp/lc c 10 237; echo "mknod-control rc=$?"; : < /tmp/lc; echo "open-control rc=$?"; rm -f /tmp/lc',
      ].join('\n'),
    ]);
    t.diagnostic(stdout);
    assert.match(stdout, /^own=\d+$/m, stdout);
    assert.equal(exitCodes(stdout).get('mknod-control'), 0, 'the node can be made (root has MKNOD)...');
    assert.equal([...stdout.matchAll(/^open rc=(\d+)$/gm)].filter((m) => m[1] !== '0').length, 2, `...but no loop device opened: ${stdout}`);
    assertAllFailed(stdout, ['open-control']);
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
