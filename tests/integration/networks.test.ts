/**
 * A learner's own networks never cut their sandbox off from its images: the sandbox
 * network (whose gateway is the registry's address) sits in BERTH_SANDBOX_NETWORK_RANGE,
 * apart from the nested engine's pools. With 30 networks and 5 Compose projects made
 * with default options, pull, run, FROM in a build and compose up still get catalog
 * images; the addresses look as tutorials show. A network made on purpose over Berth's
 * range gets an explanation in the shell. A network an older Berth made from the
 * engine's default pools moves into the range when nothing runs on it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { newLearner, startTestBerth, startWithSandbox, testConfig, type OneSandbox, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { berthLabels } from '../../sandbox-server/src/runtime/labels.ts';
import { contains } from '../../sandbox-server/src/runtime/address-pools.ts';

interface NetworkInfo {
  Id: string;
  IPAM: { Config?: { Subnet?: string; Gateway?: string }[] };
}

async function subnetOf(docker: Docker, name: string): Promise<{ id: string; subnet: string; gateway: string }> {
  const info = (await docker.getNetwork(name).inspect()) as NetworkInfo;
  const config = info.IPAM.Config?.find((c) => c.Subnet && !c.Subnet.includes(':'));
  return { id: info.Id, subnet: config?.Subnet ?? '', gateway: config?.Gateway ?? '' };
}

describe("a learner's networks and the sandbox's own", () => {
  let one: OneSandbox;
  let berth: TestBerth;
  let term: TestTerminal;
  const sh = (script: string, timeoutMs?: number) => one.sh(script, timeoutMs);

  before(async () => {
    one = await startWithSandbox();
    ({ berth, term } = one);
  });
  after(async () => {
    await one?.close();
  });

  test('the sandbox network lies in BERTH_SANDBOX_NETWORK_RANGE and the registry is on its gateway', async () => {
    const { subnet, gateway } = await subnetOf(berth.runtime.docker, berth.runtime.networkName);
    assert.ok(contains(berth.config.sandboxNetworkRange, subnet), `${subnet} in ${berth.config.sandboxNetworkRange}`);
    assert.equal(berth.registry!.gateway, gateway);
  });

  test('after 30 networks and 5 Compose projects, pull, run, build and compose up still get catalog images', async () => {
    const made = await sh('set -e; for i in $(seq 1 30); do docker network create "net$i" >/dev/null; done; echo made');
    assert.equal(made.code, 0, made.out);
    const projects = await sh(`set -e
for p in 1 2 3 4 5; do
  mkdir -p ~/many/p$p && cd ~/many/p$p
  printf 'services:\\n  app:\\n    image: busybox\\n    command: sleep 600\\n' > compose.yaml
  docker compose up -d 2>&1
done`);
    assert.equal(projects.code, 0, projects.out);
    // Addresses as tutorials show them: docker0 on 172.17, the first user network on 172.18.
    const subnets = await sh(`docker network inspect -f '{{.Name}} {{range .IPAM.Config}}{{.Subnet}}{{end}}' $(docker network ls -q)`);
    assert.match(subnets.out, /^bridge 172\.17\.0\.0\/16$/m);
    assert.match(subnets.out, /^net1 172\.18\.0\.0\/16$/m);
    assert.match(subnets.out, /^p5_default \S+$/m, 'every project got its network');
    assert.equal(subnets.out.split('\n').filter((l) => /^(net\d+|p\d_default) /.test(l)).length, 35);

    const pull = await sh('docker pull nginx');
    assert.equal(pull.code, 0, pull.out);
    assert.match(pull.out, /Downloaded newer image for nginx:latest/);
    const run = await sh('docker run --rm hello-world');
    assert.equal(run.code, 0, run.out);
    assert.match(run.out, /Hello from Berth!/);
    const build = await sh(`set -e; mkdir -p ~/b && cd ~/b
printf 'FROM debian:trixie-slim\\nRUN echo built > /built\\nCMD ["cat", "/built"]\\n' > Dockerfile
docker build -t after-networks . 2>&1
docker run --rm after-networks`);
    assert.equal(build.code, 0, build.out);
    assert.match(build.out, /^built$/m);
    const compose = await sh(`set -e; mkdir -p ~/many/cache && cd ~/many/cache
printf 'services:\\n  cache:\\n    image: redis:8\\n' > compose.yaml
docker compose up -d 2>&1
docker compose exec -T cache redis-cli ping`);
    assert.equal(compose.code, 0, compose.out);
    assert.match(compose.out, /PONG/);
  });

  test("a network made over Berth's range: the shell says why pulls fail", async () => {
    const { subnet, gateway } = await subnetOf(berth.runtime.docker, berth.runtime.networkName);
    const created = await term.run(`docker network create --subnet ${subnet} clash`);
    const explains = new RegExp(`"clash" \\(${subnet.replaceAll('.', '\\.')}\\) covers ${gateway.replaceAll('.', '\\.')}, the address of Berth's image registry`);
    assert.match(created, explains);
    const pull = await term.run('docker pull mariadb', 120_000);
    assert.doesNotMatch(pull, /Downloaded newer image/);
    assert.match(pull, explains, 'the failed pull is explained');
    assert.match(pull, /docker network rm clash/);
    const fixed = await term.run('docker network rm clash && docker pull mariadb', 120_000);
    assert.match(fixed, /Downloaded newer image for mariadb:latest/);
    assert.doesNotMatch(fixed, /address of Berth's image registry/);
    // Quiet when all is well, even after a failed command.
    assert.doesNotMatch(await term.run('docker inspect no-such-thing'), /\[berth\]/);
  });
});

describe('a sandbox network made by an older Berth', () => {
  const docker = new Docker();

  test('moves into the range when nothing runs on it; a stopped sandbox gets a new container on its volume and pulls', async (t) => {
    const config = testConfig();
    let berth = await startTestBerth(config);
    try {
      const cookie = await newLearner(berth);
      let term = new TestTerminal(berth.origin, { cookie });
      await term.waitForState('ready', 90_000);
      await term.run('echo kept > ~/note');
      term.close();
      const [old] = await berth.runtime.listSandboxes();
      await berth.runtime.stop(old!.id);
      await berth.stop();
      // Another range now: the network and the stopped sandbox's registry address are stale.
      berth = await startTestBerth({ ...config, sandboxNetworkRange: '10.77.0.0/16' });
      const { subnet, gateway } = await subnetOf(docker, berth.runtime.networkName);
      t.diagnostic(`moved to ${subnet}`);
      assert.ok(contains('10.77.0.0/16', subnet), subnet);
      assert.equal(berth.runtime.networkWarning, undefined);
      await assert.rejects(docker.getContainer(old!.id).inspect(), /no such container/i, 'the stale stopped sandbox was removed');
      term = new TestTerminal(berth.origin, { cookie });
      await term.waitForState('ready', 90_000);
      assert.match(await term.run('cat ~/note'), /^kept\r?$/m, "the learner's files stayed");
      const mirrors = await term.run(`docker info 2>/dev/null | grep -A1 'Registry Mirrors'`);
      assert.match(mirrors, new RegExp(`http://${gateway.replaceAll('.', '\\.')}:`));
      assert.match(await term.run('docker pull busybox', 60_000), /Downloaded newer image for busybox:latest/);
      term.close();
    } finally {
      await berth.destroy();
    }
  });

  test('with a container running on it, it is kept and the server warns', async () => {
    const config = testConfig();
    const name = `berth-${config.instance}-sandboxes`;
    // As an older Berth made it: the engine's default pools choose the subnet.
    const network = await docker.createNetwork({ Name: name, Driver: 'bridge', Labels: berthLabels(config.instance, 'network'), Options: { 'com.docker.network.bridge.enable_icc': 'false' } });
    const before = await subnetOf(docker, name);
    const squatter = await docker.createContainer({ Image: 'berth-catalog/busybox:latest', Cmd: ['sleep', '600'], HostConfig: { NetworkMode: name } });
    let berth: TestBerth | undefined;
    try {
      await squatter.start();
      berth = await startTestBerth(config);
      const after = await subnetOf(docker, name);
      assert.equal(after.id, before.id, 'the same network');
      assert.match(berth.runtime.networkWarning ?? '', new RegExp(`is on ${before.subnet.replaceAll('.', '\\.')}, outside BERTH_SANDBOX_NETWORK_RANGE .*kept for now`));
      assert.equal(berth.registry!.gateway, before.gateway, 'the registry still answers where those containers look');
    } finally {
      await squatter.remove({ force: true }).catch(() => {});
      await berth?.destroy();
      await network.remove().catch(() => {});
    }
  });
});
