/**
 * Network isolation of sandboxes: packet filter rules on the engine's host for one
 * instance's sandbox bridge. What a sandbox may reach:
 *  - the catalog registry on the bridge's gateway address (and the pull-through
 *    cache next to it, except with egress `off`);
 *  - with egress `open`, the internet (forwarded traffic) too;
 *  - never: other sandboxes, any other service on the host's own addresses (the
 *    Berth server, sshd, a TCP Docker API, ports the host publishes), the blocked
 *    addresses (cloud metadata by default), nor anything over IPv6 (the sandbox
 *    network is IPv4-only, so IPv6 from it is refused outright).
 *
 * The Berth server need not be root, but dockerd is: the rules are installed by a
 * short-lived helper container from the sandbox image (which has iptables) on the
 * host's network namespace with NET_ADMIN. It finds which iptables backend (nft or
 * legacy) dockerd used by looking for Docker's DOCKER-USER jump, and writes each
 * table's chains in one iptables-restore transaction, so re-applying (at every start,
 * with possibly new settings) never leaves running sandboxes unfiltered for a moment.
 * It also sweeps away chains of other instances whose bridge is gone.
 *
 * Chains per instance (the name carries a hash of the instance name), each jumped to
 * for packets entering from the bridge:
 *  - BERTH-<h>-FWD, from DOCKER-USER: traffic routed elsewhere (other sandboxes,
 *    ports the host publishes, the internet).
 *  - BERTH-<h>-IN, from INPUT: traffic to the host's own addresses.
 *  - BERTH-<h>-DNS (nat), from PREROUTING: without egress, DNS queries (UDP and
 *    TCP) go to the offline name server (runtime/offline-dns.ts) instead of the
 *    host's resolvers.
 * Refusals are ICMP "administratively prohibited", so a connection fails at once
 * instead of hanging.
 */
import { createHash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type Docker from 'dockerode';
import { runHelperContainer, type HelperResult } from './helper-container.ts';

export type Egress = 'off' | 'registry' | 'open';

/** Cloud metadata services (AWS/GCP/Azure/OpenStack, ECS task metadata, AWS IPv6, Alibaba). */
export const METADATA_ADDRESSES = ['169.254.169.254/32', '169.254.170.2/32', 'fd00:ec2::254/128', '100.100.100.200/32'];
/**
 * The local network, whatever the egress mode: private ranges (a school's router,
 * NAS, printers, other servers), shared address space (carrier NAT, Tailscale),
 * link-local (every metadata service), Azure's host address, multicast and reserved.
 * 198.18.0.0/15 stays out: it is the sandbox network's own (and benchmarking) range.
 */
export const LOCAL_NETWORKS = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.168.0.0/16', '168.63.129.16/32', '224.0.0.0/4', '240.0.0.0/4'];
export const DEFAULT_BLOCKED_ADDRESSES = [...METADATA_ADDRESSES, ...LOCAL_NETWORKS];
/** Outgoing mail: a sandbox with the internet must not be a spam relay. */
const BLOCKED_TCP_PORTS = [25];

export interface FirewallPolicy {
  egress: Egress;
  /** IPv4/IPv6 CIDRs no sandbox may reach, whatever the egress mode. */
  blocked: string[];
}

export interface FirewallTarget {
  instance: string;
  /** The sandbox bridge's interface on the host (at most 15 characters). */
  bridge: string;
  /** The bridge's IPv4 gateway: the host's address on it, where the registry is published. */
  gateway: string;
  /** TCP ports on the gateway that sandboxes may reach (the catalog registry, the cache). */
  registryPorts: number[];
  /** Port (UDP and TCP) of the offline name server on the gateway (runtime/offline-dns.ts), used unless egress is open. */
  dnsPort?: number;
}

export class FirewallError extends Error {
  override name = 'FirewallError';
}

/** "10.0.0.0/8", "169.254.169.254" (= /32), "fd00:ec2::254/128"; throws on anything else. */
export function parseCidr(raw: string): string {
  const m = /^([^/\s]+)(?:\/(\d{1,3}))?$/.exec(raw.trim());
  const addr = m?.[1] ?? '';
  const v4 = isIPv4(addr);
  if (!m || (!v4 && !isIPv6(addr))) throw new Error(`expected an IP address or CIDR such as 169.254.169.254/32, got "${raw}"`);
  const max = v4 ? 32 : 128;
  const prefix = m[2] === undefined ? max : Number(m[2]);
  if (prefix > max) throw new Error(`prefix /${prefix} is too long for ${addr}`);
  return `${addr.toLowerCase()}/${prefix}`;
}

const HASH_LENGTH = 9;

function instanceHash(instance: string): string {
  return createHash('sha256').update(instance).digest('hex').slice(0, HASH_LENGTH);
}

/** The name given to a new sandbox bridge: readable in `ip link` and iptables, 15 characters. */
export function bridgeNameFor(instance: string): string {
  return `berth-${instanceHash(instance)}`;
}

export function chainNames(instance: string): { forward: string; input: string; dns: string } {
  const h = instanceHash(instance).toUpperCase();
  return { forward: `BERTH-${h}-FWD`, input: `BERTH-${h}-IN`, dns: `BERTH-${h}-DNS` };
}

const REJECT4 = '-j REJECT --reject-with icmp-admin-prohibited';
const REJECT6 = '-j REJECT --reject-with icmp6-adm-prohibited';

/** The port sandboxes' DNS goes to, when they get the offline name server (not with egress open). */
function dnsPort(target: FirewallTarget, policy: FirewallPolicy): number | undefined {
  return policy.egress === 'open' ? undefined : target.dnsPort;
}

/** The IPv4 filter rules, as iptables-restore lines (chain bodies and jumps). */
export function ipv4Rules(target: FirewallTarget, policy: FirewallPolicy): string[] {
  const { forward, input } = chainNames(target.instance);
  const { bridge, gateway } = target;
  const blocked = policy.blocked.filter((c) => isIPv4(c.split('/')[0]!));
  const ports = target.registryPorts;
  const dns = dnsPort(target, policy);
  return [
    // Forwarded: packets from a sandbox routed anywhere but the host itself.
    `-I DOCKER-USER 1 -i ${bridge} -j ${forward}`,
    `-A ${forward} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
    // With userland-proxy off, Docker DNATs the registry port for other bridges (the
    // registry's own address may be in a blocked private range): let exactly that
    // through, whatever Docker's isolation rules say.
    ...ports.map((p) => `-A ${forward} -p tcp -m conntrack --ctstate DNAT --ctorigdst ${gateway} --ctorigdstport ${p} -j ACCEPT`),
    ...blocked.map((cidr) => `-A ${forward} -d ${cidr} ${REJECT4}`),
    // Any other DNATed connection went to a port the host publishes: a host service.
    `-A ${forward} -m conntrack --ctstate DNAT ${REJECT4}`,
    // Other sandboxes on the same bridge (Docker's ICC setting says the same).
    `-A ${forward} -o ${bridge} ${REJECT4}`,
    // The internet: Docker's own rules decide in `open` (but for mail); nothing otherwise.
    ...(policy.egress === 'open' ? BLOCKED_TCP_PORTS.map((p) => `-A ${forward} -p tcp -m tcp --dport ${p} ${REJECT4}`) : [`-A ${forward} ${REJECT4}`]),

    // Local: packets from a sandbox to any of the host's addresses.
    `-I INPUT 1 -i ${bridge} -j ${input}`,
    // Replies to connections the host opened to a sandbox.
    `-A ${input} -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN`,
    // (The blocked addresses need no rule here: everything but these ports is refused below.)
    ...ports.map((p) => `-A ${input} -d ${gateway}/32 -p tcp -m tcp --dport ${p} -j RETURN`),
    // The name server, only for queries the DNS chain redirected there.
    ...(dns ? ['udp', 'tcp'].map((p) => `-A ${input} -d ${gateway}/32 -p ${p} -m ${p} --dport ${dns} -m conntrack --ctstate DNAT -j RETURN`) : []),
    `-A ${input} ${REJECT4}`,
  ];
}

/** IPv4 nat rules: without egress, every DNS query from a sandbox goes to the offline name server. */
export function dnsRules(target: FirewallTarget, policy: FirewallPolicy): string[] {
  const { dns } = chainNames(target.instance);
  const port = dnsPort(target, policy);
  return [
    `-I PREROUTING 1 -i ${target.bridge} -j ${dns}`,
    ...(port ? ['udp', 'tcp'].map((p) => `-A ${dns} -p ${p} -m ${p} --dport 53 -j DNAT --to-destination ${target.gateway}:${port}`) : []),
  ];
}

/** IPv6: the sandbox network has none, so nothing from its bridge goes anywhere. */
export function ipv6Rules(target: FirewallTarget): string[] {
  const { forward, input } = chainNames(target.instance);
  return [
    `-I FORWARD 1 -i ${target.bridge} -j ${forward}`,
    `-A ${forward} ${REJECT6}`,
    `-I INPUT 1 -i ${target.bridge} -j ${input}`,
    `-A ${input} ${REJECT6}`,
  ];
}

interface ChainSet {
  family: 'iptables' | 'ip6tables';
  table: 'filter' | 'nat';
  chains: string[];
}

/** Every chain an instance owns, by family and table. */
function ownedChains(instance: string): ChainSet[] {
  const { forward, input, dns } = chainNames(instance);
  return [
    { family: 'iptables', table: 'filter', chains: [forward, input] },
    { family: 'iptables', table: 'nat', chains: [dns] },
    { family: 'ip6tables', table: 'filter', chains: [forward, input] },
  ];
}

/** Built-in chains a Berth chain may be jumped to from. */
const BASE_CHAINS = ['INPUT', 'FORWARD', 'DOCKER-USER', 'PREROUTING'];

/**
 * Shell helpers shared by the scripts. `jumps TOOL TABLE CHAIN` prints a -D line for
 * every rule jumping to CHAIN; `each FN` calls `FN TOOL TABLE CHAIN` for every owned
 * chain in both backends (IPv6 only where the host has it).
 */
function shellPrelude(instance: string): string {
  const calls = ownedChains(instance).flatMap(({ family, table, chains }) =>
    chains.map((chain) => `  for b in nft legacy; do ${family === 'ip6tables' ? 'has_ipv6 && ' : ''}"$1" ${family}-$b ${table} ${chain}; done`),
  );
  return String.raw`set -euo pipefail
jumps() {
  local base
  for base in ${BASE_CHAINS.join(' ')}; do
    { "$1" -w -t "$2" -S "$base" 2>/dev/null || true; } | { grep -E -- "-j $3\$" || true; } | sed 's/^-A /-D /'
  done
}
has_ipv6() { [ -e /proc/sys/net/ipv6 ]; }
each() {
${calls.join('\n')}
  return 0
}
for t in iptables-nft iptables-legacy; do
  command -v "$t-restore" >/dev/null || { echo "this image has no $t-restore: the helper needs iptables with both backends" >&2; exit 2; }
done
`;
}

/** Exit status of the apply script when neither backend holds Docker's chains. */
const NO_DOCKER_CHAINS = 3;

export function applyScript(target: FirewallTarget, policy: FirewallPolicy): string {
  const rules: Record<string, string[]> = {
    'iptables filter': ipv4Rules(target, policy),
    'iptables nat': dnsRules(target, policy),
    'ip6tables filter': ipv6Rules(target),
  };
  const guarded = (family: string, call: string) => (family === 'ip6tables' ? `if has_ipv6; then ${call}; fi` : call);
  const owned = ownedChains(target.instance);
  const restores = owned.map(({ family, table, chains }) => guarded(family, `restore ${family} ${table} '${chains.join(' ')}' '${rules[`${family} ${table}`]!.join('\n')}'`));
  const sweeps = owned.map(({ family, table }) => guarded(family, `sweep ${family} ${table}`));
  // restore FAMILY TABLE CHAINS RULES: one transaction per table that (re)declares our
  // chains, which flushes them, drops every old jump to them (the bridge may have
  // changed) and adds the rules: no moment without them.
  return `${shellPrelude(target.instance)}
backend=
for b in nft legacy; do
  if iptables-$b -w -C FORWARD -j DOCKER-USER 2>/dev/null; then backend=$b; break; fi
done
[ -n "$backend" ] || exit ${NO_DOCKER_CHAINS}
restore() {
  local tool=$1-$backend table=$2 chain
  { echo "*$table"
    for chain in $3; do echo ":$chain - [0:0]"; done
    for chain in $3; do jumps "$tool" "$table" "$chain"; done
    printf '%s\\n' "$4"; echo COMMIT; } | "$tool-restore" -w --noflush
}
# sweep FAMILY TABLE: removes other instances' chains whose bridges are all gone (an
# instance removed without its rules, a crash). One transaction per chain that deletes
# exactly the jumps seen, so it aborts, touching nothing, if that instance re-applied meanwhile.
sweep() {
  local tool=$1-$backend table=$2 all chain jump dev gone
  all=$("$tool" -w -t "$table" -S 2>/dev/null || true)
  for chain in $(sed -n 's/^-N \\(BERTH-[0-9A-F]*-[A-Z]*\\)$/\\1/p' <<<"$all"); do
    case $chain in BERTH-${instanceHash(target.instance).toUpperCase()}-*) continue ;; esac
    jump=$({ grep -E -- "^-A (${BASE_CHAINS.join('|')}) .*-j $chain\$" <<<"$all" || true; } | sed 's/^-A /-D /')
    [ -n "$jump" ] || continue
    gone=1
    while read -r line; do
      dev=$(sed -n 's/.* -i \\([^ ]*\\) .*/\\1/p' <<<"$line")
      if [ -z "$dev" ] || ip link show dev "$dev" >/dev/null 2>&1; then gone=0; fi
    done <<<"$jump"
    [ $gone = 1 ] || continue
    printf '*%s\\n%s\\n-F %s\\n-X %s\\nCOMMIT\\n' "$table" "$jump" "$chain" "$chain" | "$tool-restore" -w --noflush 2>/dev/null || true
  done
}
${restores.join('\n')}
${sweeps.join('\n')}
echo "backend=$backend"
`;
}

/** Removes the instance's chains and the jumps to them, from whichever backends have them. */
export function removeScript(instance: string): string {
  return `${shellPrelude(instance)}
drop() {
  "$1" -w -t "$2" -S "$3" >/dev/null 2>&1 || return 0
  jumps "$1" "$2" "$3" | while read -r rule; do "$1" -w -t "$2" $rule; done
  "$1" -w -t "$2" -F "$3"
  "$1" -w -t "$2" -X "$3"
}
each drop
`;
}

/** Prints the instance's rules ("<tool> <table> <rule>" lines) from every backend; empty when none. */
export function listScript(instance: string): string {
  return `${shellPrelude(instance)}
show() {
  { "$1" -w -t "$2" -S "$3" 2>/dev/null || true; } | sed "s/^/$1 $2 /"
  jumps "$1" "$2" "$3" | sed "s/^-D /$1 $2 -A /"
}
each show
`;
}

const SAFE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;

function checkTarget(target: FirewallTarget, policy: FirewallPolicy): void {
  // Everything below is pasted into a shell script: accept only what cannot break out of it.
  if (!SAFE_NAME.test(target.bridge)) throw new FirewallError(`unexpected bridge interface name "${target.bridge}"`);
  if (!isIPv4(target.gateway)) throw new FirewallError(`unexpected gateway address "${target.gateway}"`);
  for (const p of [...target.registryPorts, ...(target.dnsPort ? [target.dnsPort] : [])]) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new FirewallError(`unexpected port ${p}`);
  }
  for (const c of policy.blocked) if (parseCidr(c) !== c) throw new FirewallError(`unexpected blocked address "${c}"`);
}

export interface HelperOptions {
  docker: Docker;
  /** An image with bash and iptables (both backends): the sandbox image. */
  image: string;
}

/**
 * Installs (or replaces) the instance's rules. Throws FirewallError saying why when
 * they cannot be installed: Berth must not run sandboxes without them.
 */
export async function applyFirewall(helper: HelperOptions, target: FirewallTarget, policy: FirewallPolicy): Promise<{ backend: string }> {
  checkTarget(target, policy);
  const result = await runHelper(helper, target.instance, applyScript(target, policy));
  if (result.exitCode === NO_DOCKER_CHAINS) {
    throw new FirewallError(
      "cannot isolate sandboxes: Docker's DOCKER-USER chain is in neither the nft nor the legacy iptables backend " +
        '(is dockerd running with --iptables=false, or rootless?). Berth needs the engine to manage iptables.',
    );
  }
  if (result.exitCode !== 0) {
    throw new FirewallError(`cannot install the sandbox network rules (exit ${result.exitCode}): ${(result.stderr || result.stdout).trim().slice(0, 2000)}`);
  }
  return { backend: /backend=(\w+)/.exec(result.stdout)?.[1] ?? 'unknown' };
}

/** Removes the instance's rules (for when its network goes away). */
export async function removeFirewall(helper: HelperOptions, instance: string): Promise<void> {
  const result = await runHelper(helper, instance, removeScript(instance));
  if (result.exitCode !== 0) throw new FirewallError(`cannot remove the sandbox network rules of ${instance}: ${result.stderr.trim().slice(0, 2000)}`);
}

/** The instance's rules as installed, one "<tool> <rule>" per line (none: empty). */
export async function listFirewall(helper: HelperOptions, instance: string): Promise<string[]> {
  const result = await runHelper(helper, instance, listScript(instance));
  if (result.exitCode !== 0) throw new FirewallError(`cannot list the sandbox network rules of ${instance}: ${result.stderr.trim().slice(0, 2000)}`);
  return result.stdout.split('\n').filter(Boolean);
}

/**
 * Runs a script as root in a throwaway container on the host's network namespace,
 * with only NET_ADMIN and NET_RAW (iptables-legacy needs the latter). The host's
 * xtables lock is shared when it exists, so a legacy backend never races dockerd.
 */
async function runHelper({ docker, image }: HelperOptions, instance: string, script: string): Promise<HelperResult> {
  const run = (mountLock: boolean) =>
    runHelperContainer({
      docker,
      image,
      instance,
      role: 'firewall',
      script,
      hostConfig: {
        NetworkMode: 'host',
        CapDrop: ['ALL'],
        CapAdd: ['NET_ADMIN', 'NET_RAW'],
        Mounts: mountLock ? [{ Type: 'bind', Source: XTABLES_LOCK, Target: XTABLES_LOCK }] : [],
      },
    });
  try {
    try {
      return await run(true);
    } catch (err) {
      // No lock file on the host: nothing there uses iptables-legacy's lock.
      if (!/bind source path does not exist|no such file/i.test((err as Error).message)) throw err;
      return await run(false);
    }
  } catch (err) {
    throw new FirewallError(`the firewall helper container (image ${image}) failed: ${(err as Error).message}`);
  }
}

const XTABLES_LOCK = '/run/xtables.lock';
