/**
 * Linux capability masks as /proc/<pid>/status prints them (CapBnd, CapEff...).
 * Used to check that the host can run rootless sandboxes at all (berth-init needs
 * SYS_ADMIN and more in the bounding set), to give the sandbox
 * container exactly those, and, in tests, that a learner's shell holds no
 * effective capability.
 */
import { readFileSync } from 'node:fs';

/** Capability names by bit number (linux/capability.h). */
export const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID',
  'SETPCAP', 'LINUX_IMMUTABLE', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW',
  'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT',
  'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD',
  'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG',
  'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/**
 * What newuidmap/newgidmap need to map the rootless engine's user namespace: they
 * carry file capabilities (cap_setuid, cap_setgid) instead of a setuid bit, which a
 * process gets only if its bounding set holds them. berth-init keeps exactly these in
 * the engine's bounding set (images/sandbox/berth-init). (As setuid-root programs they
 * also needed SYS_ADMIN and DAC_OVERRIDE: running as root, not as the namespace's owner.)
 */
export const ROOTLESS_CAPABILITIES: readonly Capability[] = ['SETUID', 'SETGID'];

/**
 * Every capability the sandbox container gets (all others are dropped): the rootless
 * ones, plus what berth-init uses as root for a moment before it becomes the learner
 * for good: SYS_ADMIN (to mount the sandbox's disk and remount /sys), MKNOD (the loop
 * device node) and SETPCAP (to shrink the bounding set; every exec of the server uses it
 * too, runtime/docker.ts), and DAC_READ_SEARCH, which only the checker keeps (it reads
 * the learner's files for exercise checks; the seccomp profile denies open_by_handle_at,
 * the "shocker" escape that capability would otherwise open). The learner's processes
 * have none of them, not even in their bounding set; the engine's keep the rootless ones there.
 */
export const SANDBOX_CAPABILITIES: readonly Capability[] = [...ROOTLESS_CAPABILITIES, 'SYS_ADMIN', 'MKNOD', 'SETPCAP', 'DAC_READ_SEARCH'];

/** "000001fffeffffff" -> the set of capability names whose bits are set. */
export function parseCapabilityMask(hex: string): Set<Capability> {
  if (!/^[0-9a-fA-F]{1,16}$/.test(hex.trim())) throw new Error(`not a capability mask: "${hex}"`);
  const mask = BigInt(`0x${hex.trim()}`);
  const out = new Set<Capability>();
  CAPABILITIES.forEach((name, bit) => {
    if (mask & (1n << BigInt(bit))) out.add(name);
  });
  return out;
}

/** One Cap* line of a /proc/<pid>/status text, parsed. */
export function capabilitiesFromStatus(status: string, field: 'CapInh' | 'CapPrm' | 'CapEff' | 'CapBnd' | 'CapAmb'): Set<Capability> {
  const line = new RegExp(`^${field}:\\s*([0-9a-fA-F]+)\\s*$`, 'm').exec(status);
  if (!line) throw new Error(`no ${field} line in the status text`);
  return parseCapabilityMask(line[1]!);
}

/**
 * The sandbox capabilities this host's bounding set lacks. Meaningful when the
 * engine runs on this host (the usual case); a remote engine's host is not seen.
 */
export function missingSandboxCapabilities(status = readFileSync('/proc/self/status', 'utf8')): Capability[] {
  const bounding = capabilitiesFromStatus(status, 'CapBnd');
  return SANDBOX_CAPABILITIES.filter((c) => !bounding.has(c));
}
