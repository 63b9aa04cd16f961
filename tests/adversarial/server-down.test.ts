/**
 * While the Berth server is down (killed, or stopping for a restart), running
 * sandboxes keep working like a machine without internet: lookups of outside names
 * fail at once with "no such host", over UDP and TCP, and catalog images still pull.
 * The offline name server (runtime/offline-dns.ts) and the catalog registry are
 * containers that outlive the server; the next start adopts them (no second one), and
 * removing the instance removes them.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DockerRuntime } from '../../sandbox-server/src/runtime/docker.ts';
import { DNS_IMAGE, OFFLINE_DNS_PORT } from '../../sandbox-server/src/runtime/offline-dns.ts';
import { networkGateway } from '../../sandbox-server/src/registry.ts';
import { DNS_IMAGE as BUILT_DNS_IMAGE } from '../../scripts/lib/images.ts';
import { newLearner, removeInstance } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { freePort, startServerProcess, type ServerProcess } from '../helpers/server-process.ts';
import { TYPE, ask, dnsQuery, parseReply } from '../helpers/dns.ts';

const IMAGE = process.env.BERTH_SANDBOX_IMAGE ?? 'berth/sandbox:latest';
/** Today's failure is a 10-20 s hang per lookup; a name server answering takes milliseconds. */
const AT_ONCE_MS = 3000;
/** An address no query may reach: the firewall redirects every DNS packet from the bridge. */
const OUTSIDE_RESOLVER = '192.0.2.53';

describe('the server is down: sandboxes still look names up and pull', () => {
  const instance = `test-${randomBytes(4).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'berth-down-'));
  let env: Record<string, string>;
  let server: ServerProcess | undefined;
  let term: TestTerminal | undefined;
  const rt = new DockerRuntime({ instance, image: IMAGE, limits: { memoryBytes: 1 << 30, cpus: 1, pids: 1024 } });
  const docker = rt.docker;
  after(async () => {
    term?.close();
    await server?.kill('SIGKILL');
    await removeInstance(rt, instance);
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Container IDs of the instance's role (dns, registry). */
  const containersOf = async (role: string) =>
    (await docker.listContainers({ all: true, filters: { label: [`org.berth.instance=${instance}`, `org.berth.role=${role}`] } })).map((c) => c.Id);

  async function sh(sandbox: string, script: string, timeoutMs = 120_000): Promise<{ code: number | null; out: string }> {
    const r = await rt.exec(sandbox, ['bash', '-c', script], timeoutMs);
    return { code: r.exitCode, out: r.stdout + r.stderr };
  }

  /** Runs `command` in the sandbox, timed there (exec overhead excluded). */
  async function timed(sandbox: string, command: string): Promise<{ code: number; ms: number; out: string }> {
    const r = await sh(sandbox, `s=$(date +%s%N); { ${command}; } 2>&1; c=$?; e=$(date +%s%N); echo "code=$c ms=$(( (e - s) / 1000000 ))"`, 60_000);
    const m = /code=(\d+) ms=(\d+)\s*$/.exec(r.out);
    assert.ok(m, r.out);
    return { code: Number(m[1]), ms: Number(m[2]), out: r.out };
  }

  /** One raw query for example.com from the sandbox's bash (/dev/udp, /dev/tcp), to an outside address. */
  async function rawLookup(sandbox: string, proto: 'udp' | 'tcp') {
    const query = dnsQuery(0x4242, 'example.com', TYPE.A);
    const framed = proto === 'tcp' ? Buffer.concat([Buffer.from([0, query.length]), query]) : query;
    const bytes = [...framed].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
    const skip = proto === 'tcp' ? 2 : 0; // TCP replies start with their length
    const send = `exec 3<>/dev/${proto}/${OUTSIDE_RESOLVER}/53 && printf '${bytes}' >&3 && timeout 20 head -c ${skip + 12} <&3`;
    const r = await timed(sandbox, `(${send}) | od -An -v -tx1 | tr -d ' \\n'; echo`);
    const hex = /^([0-9a-f]*)$/m.exec(r.out)?.[1] ?? '';
    const reply = hex.length >= (skip + 12) * 2 ? parseReply(Buffer.from(hex, 'hex').subarray(skip), 0) : undefined;
    return { ...r, reply };
  }

  /** What a learner sees: the lookups and pulls of a machine without internet, at once. */
  async function checkSandbox(t: { diagnostic(m: string): void }, sandbox: string, when: string, pullImage: string) {
    const udp = await timed(sandbox, 'getent hosts example.com');
    const tcp = await timed(sandbox, 'RES_OPTIONS=use-vc getent hosts example.com');
    const rawUdp = await rawLookup(sandbox, 'udp');
    const rawTcp = await rawLookup(sandbox, 'tcp');
    const pull = await timed(sandbox, `docker pull ${pullImage}`);
    const missing = await timed(sandbox, 'docker pull nginx:9.9');
    t.diagnostic(`${when}: getent (UDP) ${udp.ms} ms, getent over TCP ${tcp.ms} ms, raw UDP query ${rawUdp.ms} ms, raw TCP query ${rawTcp.ms} ms`);
    t.diagnostic(`${when}: docker pull ${pullImage} ${pull.ms} ms (exit ${pull.code}); a pull of an image outside the catalog fails in ${missing.ms} ms`);
    assert.equal(udp.code, 2, `getent over UDP: not found\n${udp.out}`);
    assert.equal(tcp.code, 2, `getent over TCP: not found\n${tcp.out}`);
    for (const [what, r] of [['UDP', rawUdp], ['TCP', rawTcp]] as const) {
      assert.ok(r.reply, `a ${what} reply to a query sent to ${OUTSIDE_RESOLVER}: ${r.out}`);
      assert.deepEqual([r.reply.id, r.reply.response, r.reply.rcode, r.reply.answers], [0x4242, true, 3, 0], `${what}: NXDOMAIN, no answer`);
    }
    for (const [what, r] of [['getent over UDP', udp], ['getent over TCP', tcp], ['a raw UDP query', rawUdp], ['a raw TCP query', rawTcp]] as const) {
      assert.ok(r.ms < AT_ONCE_MS, `${when}: ${what} took ${r.ms} ms`);
    }
    assert.equal(pull.code, 0, `${when}: the catalog still pulls\n${pull.out}`);
    assert.notEqual(missing.code, 0);
    assert.match(missing.out, /lookup registry-1\.docker\.io on [\d.:]+: no such host/, missing.out);
    assert.ok(missing.ms < 2 * AT_ONCE_MS, `${when}: a pull of a missing image took ${missing.ms} ms to fail`);
  }

  test('killed, then stopped for a restart: lookups fail at once, pulls work; each start adopts the name server and the registry', async (t) => {
    env = {
      BERTH_INSTANCE: instance,
      BERTH_PORT: String(await freePort()),
      BERTH_DATA_DIR: dataDir,
      BERTH_SANDBOX_IMAGE: IMAGE,
      BERTH_LOG_LEVEL: 'warn',
      BERTH_WARM_POOL: '0',
    };
    assert.equal(DNS_IMAGE, BUILT_DNS_IMAGE, 'the server runs the image npm run images builds');
    server = await startServerProcess(env);
    term = new TestTerminal(server.origin, { cookie: await newLearner(server) });
    await term.waitForState('ready', 90_000);
    const sandbox = (await rt.listSandboxes())[0]!.id;
    const [dns] = await containersOf('dns');
    const [registry] = await containersOf('registry');
    assert.ok(dns && registry, 'a name server and a registry run');

    // The name server itself: "no such name" for every type, over UDP and TCP, never an address.
    const gateway = await networkGateway(docker, rt.networkName);
    for (const proto of ['udp', 'tcp'] as const) {
      for (const [type, code] of Object.entries({ A: TYPE.A, AAAA: TYPE.AAAA, MX: TYPE.MX, PTR: TYPE.PTR, TXT: TYPE.TXT })) {
        const name = type === 'PTR' ? '1.2.0.192.in-addr.arpa' : 'registry-1.docker.io';
        const query = dnsQuery(0x1234, name, code);
        const reply = await ask(proto, gateway, OFFLINE_DNS_PORT, query);
        assert.deepEqual([reply.id, reply.response, reply.rcode, reply.answers], [0x1234, true, 3, 0], `${type} over ${proto}: NXDOMAIN, no answer`);
        assert.deepEqual(reply.question, query.subarray(12), 'the question, echoed');
      }
    }
    // And how it runs: the host's network (on the gateway address only), no privilege, small limits.
    const info = await docker.getContainer(dns).inspect();
    assert.equal(info.HostConfig.NetworkMode, 'host');
    assert.ok(info.Args.includes(`--listen-address=${gateway}`) && info.Args.includes('--bind-dynamic'), info.Args.join(' '));
    assert.equal(info.Config.User, 'nobody');
    assert.deepEqual([info.HostConfig.CapDrop, info.HostConfig.CapAdd ?? []], [['ALL'], []]);
    assert.equal(info.HostConfig.ReadonlyRootfs, true);
    assert.ok(info.HostConfig.SecurityOpt?.includes('no-new-privileges'));
    assert.ok(info.HostConfig.Memory! > 0 && info.HostConfig.Memory! <= 64 << 20 && info.HostConfig.PidsLimit! > 0 && info.HostConfig.PidsLimit! <= 64);
    assert.equal(info.HostConfig.RestartPolicy?.Name, 'unless-stopped');
    // Sandboxes reach it only through the DNS redirect, not at its own port.
    const direct = await sh(sandbox, `timeout 5 bash -c 'exec 3<>/dev/tcp/${gateway}/${OFFLINE_DNS_PORT}' 2>&1; echo "exit=$?"`);
    assert.match(direct.out, /(No route to host|refused)[\s\S]*exit=1/i, direct.out); // ICMP admin-prohibited

    term.close();
    await server.kill('SIGKILL');
    await checkSandbox(t, sandbox, 'after SIGKILL', 'busybox');

    server = await startServerProcess(env);
    assert.deepEqual(await containersOf('dns'), [dns], 'the restarted server adopted the name server');
    assert.deepEqual(await containersOf('registry'), [registry], 'and the registry');

    await server.kill('SIGTERM');
    await checkSandbox(t, sandbox, 'after SIGTERM', 'hello-world');
    server = await startServerProcess(env);
    assert.deepEqual(await containersOf('dns'), [dns], 'adopted again after a graceful stop');
    assert.deepEqual(await containersOf('registry'), [registry]);
    // Other settings: the registry is replaced, not adopted; the name server is unaffected.
    await server.kill('SIGTERM');
    server = await startServerProcess({ ...env, BERTH_REGISTRY_PORT: '5010' });
    const replaced = await containersOf('registry');
    assert.equal(replaced.length, 1);
    assert.notEqual(replaced[0], registry, 'a registry on another port is a new container');
    assert.deepEqual(await containersOf('dns'), [dns]);
    await server.kill('SIGKILL');
    server = undefined;

    await removeInstance(rt, instance);
    const left = await docker.listContainers({ all: true, filters: { label: [`org.berth.instance=${instance}`] } });
    assert.deepEqual(left.map((c) => c.Names[0]), [], 'removing the instance removes them');
  });
});
