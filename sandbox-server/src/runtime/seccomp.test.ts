import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { SANDBOX_CAPABILITIES } from '../capabilities.ts';

interface Rule {
  names: string[];
  action: string;
  errnoRet?: number;
  includes?: { caps?: string[] };
  excludes?: { caps?: string[] };
}
const profile = JSON.parse(readFileSync(new URL('./seccomp.json', import.meta.url), 'utf8')) as { defaultAction: string; syscalls: Rule[] };

/** Rules that allow `name` for a container with these capabilities (Docker's includes/excludes.caps). */
function allowedFor(name: string, caps: string[]): Rule[] {
  return profile.syscalls.filter(
    (r) =>
      r.action === 'SCMP_ACT_ALLOW' &&
      r.names.includes(name) &&
      (r.includes?.caps ?? []).every((c) => caps.includes(c)) &&
      !(r.excludes?.caps ?? []).some((c) => caps.includes(c)),
  );
}

// The sandbox container's capabilities, as Docker sees them when it applies the profile.
const SANDBOX = SANDBOX_CAPABILITIES.map((c) => `CAP_${c}`);

test('the sandbox profile denies by default', () => {
  assert.equal(profile.defaultAction, 'SCMP_ACT_ERRNO');
});

test('what rootless Docker needs is allowed for the sandbox', () => {
  for (const name of ['mount', 'umount2', 'unshare', 'setns', 'clone', 'pivot_root', 'chroot']) {
    assert.ok(allowedFor(name, SANDBOX).length > 0, `${name} allowed`);
  }
  const keyctl = profile.syscalls.find((r) => r.names.includes('keyctl'));
  assert.deepEqual([keyctl?.action, keyctl?.errnoRet], ['SCMP_ACT_ERRNO', 38], 'keyctl: ENOSYS, so runc goes on without a keyring');
});

test('pivot_root is only for containers with CAP_SYS_ADMIN, as mount is', () => {
  assert.equal(allowedFor('pivot_root', ['CAP_CHOWN']).length, 0);
});

test('kernel, clock and module syscalls stay denied for the sandbox', () => {
  for (const name of ['init_module', 'finit_module', 'delete_module', 'kexec_load', 'kexec_file_load', 'open_by_handle_at', 'reboot', 'swapon', 'acct', 'settimeofday', 'iopl', 'ioperm', 'keyctl', 'add_key', 'request_key', 'io_uring_setup', 'userfaultfd', 'kcmp']) {
    assert.equal(allowedFor(name, SANDBOX).length, 0, `${name} denied`);
  }
});

test("what Docker's default opens with CAP_SYS_ADMIN beyond mounts and namespaces stays denied for the sandbox", () => {
  // berth-init needs CAP_SYS_ADMIN; the nested engine, builds, networks and --privileged containers need none of these.
  for (const name of ['bpf', 'perf_event_open', 'quotactl', 'quotactl_fd', 'lookup_dcookie', 'fanotify_init', 'syslog']) {
    assert.equal(allowedFor(name, SANDBOX).length, 0, `${name} denied`);
  }
  // The new mount API: ENOSYS, so mount(8) falls back to mount(2) (with EPERM berth-init's mount fails).
  for (const name of ['fsopen', 'fsconfig', 'fsmount', 'fspick', 'move_mount', 'open_tree']) {
    assert.equal(allowedFor(name, SANDBOX).length, 0, `${name} denied`);
    const rule = profile.syscalls.find((r) => r.action === 'SCMP_ACT_ERRNO' && r.names.includes(name));
    assert.equal(rule?.errnoRet, 38, `${name}: ENOSYS`);
  }
});
