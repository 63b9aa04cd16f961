/**
 * Network isolation (sandbox-server/src/runtime/firewall.ts): what a learner's
 * sandbox, and the containers its nested engine runs, can reach. In the default
 * egress mode (`registry`) a sandbox pulls from the catalog registry and reaches
 * nothing else: not another sandbox, not the Berth server or any other listener on
 * the host's addresses, not the outside. With `open` the outside is reachable, still
 * minus the host, the other sandboxes and BERTH_BLOCKED_ADDRESSES.
 *
 * "The outside" and "a metadata address" are stand-ins the test owns: a network
 * namespace behind a veth pair with two addresses from 198.18.0.0/15 (reserved for
 * benchmarking, RFC 2544), each serving HTTP. Every probe has a control that must
 * succeed (from the host, or in another mode), so a refusal means the rules refused.
 * No packet goes to a real outside or metadata address. Needs root (ip netns), as CI has.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { randomBytes, randomInt } from 'node:crypto';
import { newLearner, startTestBerth, testConfig, removeInstance, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { createRuntime } from '../../sandbox-server/src/server.ts';
import { applyFirewall, listFirewall, removeFirewall } from '../../sandbox-server/src/runtime/firewall.ts';
import { labelFilter } from '../../sandbox-server/src/runtime/labels.ts';
import { sandboxOf } from './helpers.ts';

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });

/**
 * Two addresses in a network namespace of their own, routed from the host through a
 * veth pair, each serving HTTP on 8080 and DNS on 53 (every name: "no such name";
 * the names asked are recorded, so a test can tell whether a query got out).
 */
class OutsideStandIn {
  readonly tag = randomBytes(3).toString('hex');
  readonly ns = `berth-t-${this.tag}`;
  private readonly hostIf = `bt${this.tag}h`;
  private readonly nsIf = `bt${this.tag}n`;
  private readonly base = `198.18.${randomInt(256)}.${randomInt(32) * 8}`;
  private server: ChildProcess | undefined;
  readonly port = 8080;
  /** Names the stand-in's DNS server was asked, in order. */
  readonly dnsQueries: string[] = [];

  private at(n: number): string {
    const parts = this.base.split('.').map(Number);
    return `${parts[0]}.${parts[1]}.${parts[2]}.${parts[3]! + n}`;
  }
  get hostSide(): string {
    return this.at(1);
  }
  /** Stands for a metadata service (listed in BERTH_BLOCKED_ADDRESSES in one test). */
  get metadata(): string {
    return this.at(2);
  }
  /** Stands for any internet host (never blocked). */
  get internet(): string {
    return this.at(3);
  }
  /**
   * Stand-ins for the local network a school's Berth sits on (router, NAS, other
   * servers), one in each private, shared and link-local range, routed to the
   * namespace by /32 host routes only (nothing else on those ranges changes).
   */
  readonly local = [`10.213.${randomInt(256)}.5`, `172.16.213.${randomInt(250) + 2}`, `192.168.213.${randomInt(250) + 2}`, `100.64.213.${randomInt(250) + 2}`, `169.254.213.${randomInt(250) + 2}`];

  async start(): Promise<void> {
    ip('netns', 'add', this.ns);
    ip('link', 'add', this.hostIf, 'type', 'veth', 'peer', 'name', this.nsIf);
    ip('link', 'set', this.nsIf, 'netns', this.ns);
    ip('addr', 'add', `${this.hostSide}/29`, 'dev', this.hostIf);
    ip('link', 'set', this.hostIf, 'up');
    ip('-n', this.ns, 'addr', 'add', `${this.metadata}/29`, 'dev', this.nsIf);
    ip('-n', this.ns, 'addr', 'add', `${this.internet}/29`, 'dev', this.nsIf);
    ip('-n', this.ns, 'link', 'set', this.nsIf, 'up');
    ip('-n', this.ns, 'link', 'set', 'lo', 'up');
    ip('-n', this.ns, 'route', 'add', 'default', 'via', this.hostSide);
    for (const a of this.local) {
      ip('-n', this.ns, 'addr', 'add', `${a}/32`, 'dev', this.nsIf);
      ip('route', 'add', `${a}/32`, 'dev', this.hostIf, 'src', this.hostSide);
    }
    // The host routes both addresses to the namespace, never to its default route.
    for (const a of [this.metadata, this.internet, ...this.local]) assert.match(ip('route', 'get', a), new RegExp(`dev ${this.hostIf}`));
    const code = `require('http').createServer((q, s) => s.end('stand-in ' + q.socket.localAddress)).listen(${this.port});
      require('net').createServer((s) => s.end('220 stand-in mail server\\r\\n')).listen(25);
      const dns = require('dgram').createSocket('udp4');
      dns.on('message', (m, from) => {
        const labels = []; for (let i = 12; m[i]; i += m[i] + 1) labels.push(m.toString('latin1', i + 1, i + 1 + m[i]));
        console.log('dns ' + labels.join('.'));
        m[2] |= 0x80; m[3] = (m[3] & 0xf0) | 3; dns.send(m, from.port, from.address);
      }).bind(53);`;
    this.server = spawn('ip', ['netns', 'exec', this.ns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.server.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.startsWith('dns ')) this.dnsQueries.push(line.slice(4));
    });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await fetch(this.url(this.internet), { signal: AbortSignal.timeout(1000) })).ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error('the stand-in listener did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  url(address: string): string {
    return `http://${address}:${this.port}/`;
  }

  stop(): void {
    this.server?.kill();
    try {
      ip('netns', 'del', this.ns); // takes the veth pair with it
    } catch {
      // never made
    }
  }
}

/** An HTTP listener on all of the host's addresses, like sshd or a TCP Docker API would be. */
async function hostListener(): Promise<Server> {
  const server = createServer((_q, s) => s.end('host listener'));
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  return server;
}

/** One of the host's own addresses that is not on a Docker or test bridge (eth0's, say); docker0's otherwise. */
function otherHostAddress(): string {
  const all = Object.entries(networkInterfaces()).flatMap(([name, addrs]) => (addrs ?? []).map((a) => ({ name, ...a })));
  const v4 = all.filter((a) => a.family === 'IPv4' && !a.internal);
  const pick = v4.find((a) => !/^(br-|berth-|veth|bt|docker)/.test(a.name)) ?? v4.find((a) => a.name === 'docker0');
  if (!pick) throw new Error('the host has no non-loopback IPv4 address to probe');
  return pick.address;
}

/** From the host (the test process): must answer, so a sandbox's failure means its rules refused. */
async function fromHost(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return `http ${res.status}`;
}

const REACHED = /^http [1-5]\d\d$/;
/** curl's "could not connect": the rules refuse at once (a drop would time out: exit 28). */
const REFUSED = /^curl exit 7$/;

describe('sandbox network isolation', () => {
  const standIn = new OutsideStandIn();
  let listener: Server;
  let listenerPort: number;
  let berth: TestBerth;
  let a: TestTerminal;
  let b: TestTerminal;
  let sandboxA: string;
  let peerUrl: string;
  let gateway: string;
  const config = testConfig({ BERTH_HOST: '0.0.0.0' });

  /** curl in sandbox A's own shell (the learner's user, as the terminal has). */
  async function probe(url: string): Promise<string> {
    const r = await berth.runtime.exec(sandboxA, ['curl', '-s', '-m', '3', '-o', '/dev/null', '-w', '%{http_code}', url], 15_000);
    return r.exitCode === 0 ? `http ${r.stdout}` : `curl exit ${r.exitCode}`;
  }

  /** The same from a container that sandbox A's nested engine runs. */
  async function nestedProbe(url: string): Promise<string> {
    const r = await berth.runtime.exec(sandboxA, ['docker', 'run', '--rm', 'busybox', 'wget', '-q', '-T', '3', '-O', '/dev/null', url], 60_000);
    return r.exitCode === 0 ? 'reached' : `refused: ${(r.stdout + r.stderr).trim()}`;
  }

  /** nslookup NAME SERVER from a container in sandbox A; returns what it printed. */
  async function lookup(name: string, server: string): Promise<string> {
    const r = await berth.runtime.exec(sandboxA, ['docker', 'run', '--rm', 'busybox', 'nslookup', name, server], 60_000);
    return r.stdout + r.stderr;
  }

  async function restart(env: Partial<typeof config>): Promise<void> {
    await berth.stop();
    berth = await startTestBerth({ ...config, ...env });
    // Sandboxes kept running across the restart: the new rules must hold for them at once.
    assert.equal((await berth.runtime.listSandboxes()).filter((s) => s.running).length, 2);
  }

  before(async () => {
    await standIn.start();
    listener = await hostListener();
    listenerPort = (listener.address() as AddressInfo).port;
    berth = await startTestBerth(config);
    gateway = berth.registry!.gateway;
    const cookieA = await newLearner(berth);
    const cookieB = await newLearner(berth);
    a = new TestTerminal(berth.origin, { cookie: cookieA });
    b = new TestTerminal(berth.origin, { cookie: cookieB });
    await Promise.all([a.waitForState('ready', 90_000), b.waitForState('ready', 90_000)]);
    sandboxA = await sandboxOf(berth, cookieA);
    // Learner B publishes a web server: a listener on B's own address (rootlesskit's port).
    const sandboxB = await sandboxOf(berth, cookieB);
    const r = await berth.runtime.exec(sandboxB, ['bash', '-c', 'docker run -d -p 8080:80 nginx >/dev/null && for i in $(seq 50); do curl -sf -o /dev/null localhost:8080 && exit 0; sleep 0.2; done; exit 1'], 120_000);
    assert.equal(r.exitCode, 0, `nginx in sandbox B: ${r.stdout}${r.stderr}`);
    const info = await berth.runtime.docker.getContainer(sandboxB).inspect();
    peerUrl = `http://${Object.values(info.NetworkSettings.Networks)[0]!.IPAddress}:8080/`;
  });

  after(async () => {
    a?.close();
    b?.close();
    await berth?.destroy();
    listener?.close();
    standIn.stop();
  });

  test('default (registry): the catalog pulls; other sandboxes, the host and the outside are refused', async () => {
    assert.equal(config.sandboxEgress, 'registry');
    const pull = await berth.runtime.exec(sandboxA, ['docker', 'pull', 'busybox'], 120_000);
    assert.equal(pull.exitCode, 0, pull.stdout + pull.stderr);
    assert.match(await probe(`${berth.registry!.mirrors[0]}/v2/`), /^http 200$/, 'the registry port on the gateway');

    const berthUrl = `http://${gateway}:${berth.port}/`;
    const onGateway = `http://${gateway}:${listenerPort}/`;
    const elsewhere = `http://${otherHostAddress()}:${listenerPort}/`;
    const targets = { 'another sandbox': peerUrl, 'the Berth server': berthUrl, 'a host listener on the gateway': onGateway, 'a host listener on another host address': elsewhere, 'the outside': standIn.url(standIn.internet) };
    for (const [what, url] of Object.entries(targets)) {
      assert.match(await fromHost(url), REACHED, `control: ${what} answers the host at ${url}`);
      assert.match(await probe(url), REFUSED, `${what} (${url}) from the sandbox`);
    }
    assert.match(await nestedProbe(onGateway), /^refused/, 'a nested container is refused the host too');
    assert.match(await nestedProbe(peerUrl), /^refused/, 'and the other sandbox');
  });

  test('default (registry): DNS never leaves the host, and outside names fail at once as on a machine without internet', async () => {
    const name = `leak-${standIn.tag}.example`;
    const asked = await lookup(name, standIn.internet);
    assert.match(asked, /NXDOMAIN|can't find/, asked);
    assert.deepEqual(standIn.dnsQueries.filter((q) => q === name), [], 'the query never reached the outside name server');
    const started = Date.now();
    const pull = await berth.runtime.exec(sandboxA, ['docker', 'pull', 'nginx:9.9'], 60_000);
    assert.notEqual(pull.exitCode, 0);
    assert.match(pull.stderr + pull.stdout, /lookup registry-1\.docker\.io on [\d.:]+: no such host/, 'what lesson 3 shows');
    assert.ok(Date.now() - started < 10_000, `a missing image fails at once (${Date.now() - started} ms)`);
  });

  test('open: the outside is reachable; other sandboxes and the host still are not', async () => {
    await restart({ sandboxEgress: 'open' });
    assert.match(await probe(standIn.url(standIn.internet)), REACHED, 'the outside, from the sandbox');
    assert.equal(await nestedProbe(standIn.url(standIn.internet)), 'reached', 'the outside, from a nested container');
    assert.match(await probe(standIn.url(standIn.metadata)), REACHED, 'the metadata stand-in, while it is not on the blocked list');
    assert.match(await probe(`${berth.registry!.mirrors[0]}/v2/`), /^http 200$/, 'the registry');
    for (const url of [peerUrl, `http://${gateway}:${berth.port}/`, `http://${gateway}:${listenerPort}/`, `http://${otherHostAddress()}:${listenerPort}/`]) {
      assert.match(await probe(url), REFUSED, `${url} from the sandbox`);
    }
    assert.match(await nestedProbe(`http://${gateway}:${listenerPort}/`), /^refused/, 'a nested container is refused the host');
    const name = `open-${standIn.tag}.example`;
    await lookup(name, standIn.internet);
    assert.ok(standIn.dnsQueries.includes(name), 'control: with egress open, the outside name server is asked');
  });

  test('open: the local network (private, shared, link-local ranges) and outgoing mail are refused by default', async (t) => {
    await restart({ sandboxEgress: 'open', blockedAddresses: config.blockedAddresses });
    const mail = async (address: string) => {
      const r = await berth.runtime.exec(sandboxA, ['bash', '-c', `timeout 3 bash -c 'exec 3<>/dev/tcp/${address}/25 && head -c 3 <&3' 2>/dev/null || echo refused`], 15_000);
      return r.stdout.trim();
    };
    for (const address of standIn.local) {
      assert.match(await fromHost(standIn.url(address)), REACHED, `control: ${address} answers the host`);
      assert.match(await probe(standIn.url(address)), REFUSED, `${address} from the sandbox`);
    }
    assert.match(await nestedProbe(standIn.url(standIn.local[2]!)), /^refused/, 'a nested container is refused the local network too');
    assert.match(await probe(standIn.url(standIn.internet)), REACHED, 'control: the outside still is reachable');
    const fromHostMail = await new Promise<string>((resolve) => {
      const c = connect(25, standIn.internet, () => c.once('data', (d) => (resolve(d.toString().slice(0, 3)), c.destroy())));
      c.on('error', (e) => resolve(e.message));
    });
    assert.equal(fromHostMail, '220', 'control: the mail stand-in answers the host');
    assert.equal(await mail(standIn.internet), 'refused', 'outgoing mail (tcp/25) to the outside');
    t.diagnostic(`local stand-ins refused: ${standIn.local.join(', ')}`);
  });

  test('open with the stand-in on BERTH_BLOCKED_ADDRESSES: that address is refused, the rest of the outside is not', async () => {
    await restart({ sandboxEgress: 'open', blockedAddresses: [...config.blockedAddresses, `${standIn.metadata}/32`] });
    assert.match(await probe(standIn.url(standIn.metadata)), REFUSED, 'the blocked address');
    assert.match(await nestedProbe(standIn.url(standIn.metadata)), /^refused/, 'the blocked address, from a nested container');
    assert.match(await probe(standIn.url(standIn.internet)), REACHED, 'control: its neighbour, not blocked');
  });

  test('off: the catalog still pulls, the outside is refused', async () => {
    await restart({ sandboxEgress: 'off' });
    const pull = await berth.runtime.exec(sandboxA, ['bash', '-c', 'docker rmi -f busybox >/dev/null; docker pull busybox'], 120_000);
    assert.equal(pull.exitCode, 0, pull.stdout + pull.stderr);
    assert.match(await probe(standIn.url(standIn.internet)), REFUSED);
    assert.match(await probe(peerUrl), REFUSED);
  });
});

describe('sandbox network rules: lifecycle', () => {
  test('installed before sandboxes run, kept by a server stop, removed with the instance', async () => {
    const berth = await startTestBerth(testConfig());
    const helper = { docker: berth.runtime.docker, image: berth.config.sandboxImage };
    try {
      const rules = await listFirewall(helper, berth.config.instance);
      assert.ok(rules.some((r) => / -A (DOCKER-USER|INPUT) -i \S+ -j BERTH-/.test(r)), `jumps to the instance's chains:\n${rules.join('\n')}`);
      await berth.stop();
      assert.deepEqual(await listFirewall(helper, berth.config.instance), rules, 'sandboxes outlive the server, so their rules stay');
    } finally {
      await berth.destroy();
    }
    assert.deepEqual(await listFirewall(helper, berth.config.instance), [], 'no rule left once the instance is removed');
  });

  test("a start sweeps away the rules of instances whose bridge is gone (removed without them, or crashed)", async () => {
    const config = testConfig();
    const runtime = createRuntime(config);
    const helper = { docker: runtime.docker, image: config.sandboxImage };
    const orphan = `test-orphan-${randomBytes(4).toString('hex')}`;
    await applyFirewall(helper, { instance: orphan, bridge: `bt${randomBytes(4).toString('hex')}x`, gateway: '198.18.0.1', registryPorts: [5000], dnsPort: 5353 }, { egress: 'registry', blocked: [] });
    try {
      assert.ok((await listFirewall(helper, orphan)).length > 0, 'control: the orphan rules are there');
      const berth = await startTestBerth(config);
      await berth.destroy();
      assert.deepEqual(await listFirewall(helper, orphan), []);
    } finally {
      await removeFirewall(helper, orphan);
    }
  });

  test('a server that cannot install the rules refuses to start, before any sandbox or registry runs', async () => {
    // berth/registry has bash but no iptables: the helper cannot install anything.
    const config = testConfig({ BERTH_SANDBOX_IMAGE: 'berth/registry:latest' });
    const runtime = createRuntime(config);
    try {
      await assert.rejects(startTestBerth(config), /cannot install the sandbox network rules[\s\S]*iptables/);
      const docker = runtime.docker;
      const containers = await docker.listContainers({ all: true, filters: { label: [`org.berth.instance=${config.instance}`] } });
      assert.deepEqual(containers.map((c) => c.Names[0]), [], 'nothing runs for this instance');
      assert.equal((await docker.listContainers({ all: true, filters: labelFilter(config.instance, 'sandbox') })).length, 0);
    } finally {
      await removeInstance(runtime, config.instance);
    }
  });
});
