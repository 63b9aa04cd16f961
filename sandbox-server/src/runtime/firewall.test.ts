import { test } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { DEFAULT_BLOCKED_ADDRESSES, FirewallError, applyFirewall, applyScript, bridgeNameFor, chainNames, dnsRules, ipv4Rules, parseCidr, type FirewallTarget } from './firewall.ts';
import { loadConfig } from '../config.ts';

const target: FirewallTarget = { instance: 'school', bridge: 'berth-abc', gateway: '172.30.0.1', registryPorts: [5000, 5001], dnsPort: 40053 };
const { forward, input, dns } = chainNames('school');

test('addresses and CIDRs are normalised to address/prefix; anything else is refused', () => {
  assert.equal(parseCidr('169.254.169.254'), '169.254.169.254/32');
  assert.equal(parseCidr(' 10.0.0.0/8 '), '10.0.0.0/8');
  assert.equal(parseCidr('FD00:EC2::254'), 'fd00:ec2::254/128');
  for (const bad of ['', 'metadata', '10.0.0.0/33', 'fd00::/129', '10.0.0.1/8/8', '1.2.3.4; reboot']) assert.throws(() => parseCidr(bad), `"${bad}"`);
});

test('settings: egress defaults to registry, the blocked list to the metadata services and the local network; bad values are refused', () => {
  const config = loadConfig({});
  assert.equal(config.sandboxEgress, 'registry');
  assert.deepEqual(config.blockedAddresses, DEFAULT_BLOCKED_ADDRESSES);
  assert.ok(config.blockedAddresses.includes('169.254.169.254/32'));
  assert.deepEqual(loadConfig({ BERTH_BLOCKED_ADDRESSES: '' }).blockedAddresses, []);
  assert.deepEqual(loadConfig({ BERTH_BLOCKED_ADDRESSES: '10.1.2.3, 192.168.0.0/16' }).blockedAddresses, ['10.1.2.3/32', '192.168.0.0/16']);
  assert.throws(() => loadConfig({ BERTH_SANDBOX_EGRESS: 'internet' }), /BERTH_SANDBOX_EGRESS:/);
  assert.throws(() => loadConfig({ BERTH_BLOCKED_ADDRESSES: '169.254.169.254,metadata.google.internal' }), /BERTH_BLOCKED_ADDRESSES:.*metadata\.google\.internal/);
});

test('bridge and chain names fit the kernel limits and differ per instance', () => {
  const name = bridgeNameFor('a-rather-long-instance-name-that-goes-on-and-on-for-sixty-chars');
  assert.ok(name.length <= 15, name);
  assert.notEqual(bridgeNameFor('a'), bridgeNameFor('b'));
  for (const chain of Object.values(chainNames('x'.repeat(63)))) assert.ok(chain.length <= 28, chain);
});

test('registry mode: forwarded traffic ends in a refusal, the host only opens the registry ports and the name server', () => {
  const rules = ipv4Rules(target, { egress: 'registry', blocked: ['169.254.169.254/32', 'fd00:ec2::254/128'] });
  const fwd = rules.filter((r) => r.startsWith(`-A ${forward} `));
  const inp = rules.filter((r) => r.startsWith(`-A ${input} `));
  assert.ok(rules.includes(`-I DOCKER-USER 1 -i berth-abc -j ${forward}`));
  assert.ok(rules.includes(`-I INPUT 1 -i berth-abc -j ${input}`));
  assert.match(fwd.at(-1)!, /^-A \S+ -j REJECT/, 'nothing forwarded gets past the end');
  assert.match(inp.at(-1)!, /^-A \S+ -j REJECT/, 'no other host port');
  assert.deepEqual(inp.filter((r) => r.endsWith('-j RETURN') && r.includes('--dport')), [
    `-A ${input} -d 172.30.0.1/32 -p tcp -m tcp --dport 5000 -j RETURN`,
    `-A ${input} -d 172.30.0.1/32 -p tcp -m tcp --dport 5001 -j RETURN`,
    `-A ${input} -d 172.30.0.1/32 -p udp -m udp --dport 40053 -m conntrack --ctstate DNAT -j RETURN`,
    `-A ${input} -d 172.30.0.1/32 -p tcp -m tcp --dport 40053 -m conntrack --ctstate DNAT -j RETURN`,
  ]);
  // The blocked list comes before anything that lets traffic through but the registry's
  // own DNATed port (its container's address may be in a blocked private range); IPv6 entries are IPv6's business.
  const firstBlocked = fwd.findIndex((r) => r.includes('169.254.169.254/32'));
  assert.ok(firstBlocked > 0);
  for (const r of fwd.slice(0, firstBlocked)) assert.match(r, /ESTABLISHED -j RETURN$|--ctstate DNAT --ctorigdst 172\.30\.0\.1 --ctorigdstport 500[01] -j ACCEPT$/, r);
  assert.ok(!fwd.slice(firstBlocked).some((r) => r.endsWith('-j ACCEPT')), 'nothing else is accepted');
  assert.ok(!rules.some((r) => r.includes('fd00:ec2')));
  assert.deepEqual(dnsRules(target, { egress: 'registry', blocked: [] }), [
    `-I PREROUTING 1 -i berth-abc -j ${dns}`,
    `-A ${dns} -p udp -m udp --dport 53 -j DNAT --to-destination 172.30.0.1:40053`,
    `-A ${dns} -p tcp -m tcp --dport 53 -j DNAT --to-destination 172.30.0.1:40053`,
  ]);
});

test('open mode: forwarded traffic falls through to Docker after the refusals; DNS goes out as usual', () => {
  const rules = ipv4Rules(target, { egress: 'open', blocked: ['169.254.169.254/32'] });
  const fwd = rules.filter((r) => r.startsWith(`-A ${forward} `));
  assert.ok(fwd.some((r) => new RegExp(`^-A ${forward} -o berth-abc -j REJECT`).test(r)), 'other sandboxes are refused');
  assert.match(fwd.at(-1)!, new RegExp(`^-A ${forward} -p tcp -m tcp --dport 25 -j REJECT`), 'the last word: outgoing mail is refused');
  assert.ok(!fwd.some((r) => r === `-A ${forward} -j REJECT --reject-with icmp-admin-prohibited`), 'the rest of the internet goes on to Docker');
  assert.ok(fwd.some((r) => r.includes('-d 169.254.169.254/32 -j REJECT')), 'blocked addresses still are');
  assert.ok(fwd.some((r) => r.includes('--ctstate DNAT -j REJECT')), 'ports the host publishes still are');
  assert.ok(!rules.some((r) => r.includes('--dport 40053')));
  assert.deepEqual(dnsRules(target, { egress: 'open', blocked: [] }), [`-I PREROUTING 1 -i berth-abc -j ${dns}`]);
});

test('by default the local network is blocked in every mode: private, shared, link-local, Azure\'s host, multicast', () => {
  for (const cidr of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', '168.63.129.16/32', '224.0.0.0/4']) {
    assert.ok(DEFAULT_BLOCKED_ADDRESSES.includes(cidr), cidr);
  }
  assert.ok(!DEFAULT_BLOCKED_ADDRESSES.some((c) => c.startsWith('198.1')), 'the sandbox network\'s own range is not');
  const fwd = ipv4Rules(target, { egress: 'open', blocked: DEFAULT_BLOCKED_ADDRESSES }).filter((r) => r.startsWith(`-A ${forward} `));
  assert.ok(fwd.includes(`-A ${forward} -d 192.168.0.0/16 -j REJECT --reject-with icmp-admin-prohibited`));
  assert.ok(!ipv4Rules(target, { egress: 'registry', blocked: [] }).some((r) => r.includes('--dport 25')), 'mail needs no rule where nothing goes out');
});

test('off mode refuses the internet like registry mode; which registry ports open is the caller\'s choice', () => {
  const rules = ipv4Rules({ ...target, registryPorts: [5000] }, { egress: 'off', blocked: [] });
  assert.match(rules.filter((r) => r.startsWith(`-A ${forward} `)).at(-1)!, /-j REJECT/);
  assert.ok(!rules.some((r) => r.includes('5001')));
});

test('the apply script writes each table in one iptables-restore transaction that replaces old jumps', () => {
  const script = applyScript(target, { egress: 'registry', blocked: [] });
  assert.match(script, /restore iptables filter '[^']+' '-I DOCKER-USER 1 -i berth-abc/);
  assert.match(script, /restore iptables nat /);
  assert.match(script, /if has_ipv6; then restore ip6tables filter /);
  assert.match(script, /-restore" -w --noflush/);
});

test('values that could break out of the script are refused before any container runs', async () => {
  const docker = {} as Docker; // never reached
  const policy = { egress: 'registry' as const, blocked: [] };
  await assert.rejects(applyFirewall({ docker, image: 'x' }, { ...target, bridge: "br'; reboot" }, policy), FirewallError);
  await assert.rejects(applyFirewall({ docker, image: 'x' }, { ...target, gateway: '172.30.0.1 -j ACCEPT' }, policy), FirewallError);
  await assert.rejects(applyFirewall({ docker, image: 'x' }, target, { egress: 'open', blocked: ["10.0.0.0/8' -j ACCEPT"] }), /expected an IP address/);
  await assert.rejects(applyFirewall({ docker, image: 'x' }, { ...target, registryPorts: [70000] }, policy), FirewallError);
});
