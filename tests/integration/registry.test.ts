/**
 * The catalog registry as a sandbox sees it: with no internet, every catalog image
 * pulls from Berth's registry with layer progress and the registry's digest; hello-world
 * runs as on a real machine; a learner's multi-stage build FROM debian:trixie-slim
 * works; a learner cannot push; only the registry's port is opened for sandboxes.
 * Also: the pull-through cache (BERTH_REGISTRY_UPSTREAM) serves images outside the
 * catalog while a catalog image still wins, tested against a local stand-in upstream.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { CATALOG, REGISTRY_IMAGE as BUILT_REGISTRY_IMAGE, CATALOG_VOLUME as BUILT_CATALOG_VOLUME } from '../../scripts/lib/images.ts';
import { CATALOG_VOLUME, REGISTRY_IMAGE, networkGateway, registryLabels } from '../../sandbox-server/src/registry.ts';
import { berthLabels } from '../../sandbox-server/src/runtime/labels.ts';

const run = promisify(execFile);
// The engine accepts both; the catalog is pushed as OCI manifests (zstd layers, scripts/lib/catalog-push.ts).
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

/** The digest the registry at base serves for repo:tag. */
async function registryDigest(base: string, name: string): Promise<string | null> {
  const i = name.lastIndexOf(':');
  const res = await fetch(`${base}/v2/${name.slice(0, i)}/manifests/${name.slice(i + 1)}`, { method: 'HEAD', headers: { Accept: MANIFEST } });
  return res.ok ? res.headers.get('docker-content-digest') : null;
}

describe('catalog registry: what a sandbox pulls, and what it cannot do', () => {
  let berth: TestBerth;
  let term: TestTerminal;
  let sandbox: string;
  let base: string;

  async function sh(script: string, timeoutMs = 120_000): Promise<{ code: number | null; out: string }> {
    const r = await berth.runtime.exec(sandbox, ['bash', '-c', script], timeoutMs);
    return { code: r.exitCode, out: r.stdout + r.stderr };
  }

  before(async () => {
    berth = await startTestBerth();
    term = new TestTerminal(berth.origin, { cookie: await newLearner(berth) });
    await term.waitForState('ready', 90_000);
    sandbox = (await berth.runtime.listSandboxes())[0]!.id;
    base = berth.registry!.mirrors[0]!;
  });
  after(async () => {
    term?.close();
    await berth?.destroy();
  });

  test('the server and npm run images agree on the registry image and the catalog volume', () => {
    assert.equal(REGISTRY_IMAGE, BUILT_REGISTRY_IMAGE);
    assert.equal(CATALOG_VOLUME, BUILT_CATALOG_VOLUME);
  });

  test('docker run hello-world in a fresh sandbox pulls it from the registry and prints its message', async () => {
    const out = await term.run('docker run hello-world', 60_000);
    assert.match(out, /Unable to find image 'hello-world:latest' locally/);
    assert.match(out, /Pull complete/);
    assert.match(out, /Digest: sha256:[0-9a-f]{64}/);
    assert.match(out, /Hello from Berth!/);
    // Its own words agree with the pull just shown (issue 18: it said "no download").
    assert.doesNotMatch(out, /no download|already had/);
    assert.match(out, /If it was not there\s+yet, the engine pulled it/);
    assert.match(await term.run('docker info 2>/dev/null | grep -A1 "Registry Mirrors"'), new RegExp(base.replaceAll('.', '\\.')));
  });

  test('every catalog image and tag pulls with layer progress and the registry digest', async () => {
    for (const image of CATALOG) {
      for (const [i, tagged] of image.push.entries()) {
        const name = tagged.replace(/^library\//, '');
        const r = await sh(`docker pull ${name}`);
        assert.equal(r.code, 0, `docker pull ${name}:\n${r.out}`);
        const expected = await registryDigest(base, tagged);
        assert.ok(expected, `the registry serves ${tagged}`);
        assert.match(r.out, new RegExp(`Digest: ${expected}`), `${name} came from the catalog`);
        // The first tag of each image downloads its own layers (hello-world ran already); later tags share them.
        if (i === 0 && image.name !== 'hello-world') {
          assert.match(r.out, /Pulling fs layer[\s\S]*Pull complete[\s\S]*Status: Downloaded newer image/, `${name} shows layer progress`);
        }
      }
    }
  });

  test('catalog layers are zstd, and a pull keeps what the learner sees: image ID, layers, history, digest across pulls', async () => {
    const res = await fetch(`${base}/v2/library/nginx/manifests/latest`, { headers: { Accept: MANIFEST } });
    assert.equal(res.status, 200);
    const manifest = (await res.json()) as { layers: { mediaType: string }[] };
    assert.ok(manifest.layers.length > 0);
    for (const l of manifest.layers) assert.equal(l.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd', 'zstd: the nested engine inflates gzip in Go, most of a pull');

    const fmt = "'{{.Id}} {{json .RootFS.Layers}} {{json .Config.Cmd}}'";
    const history = "docker history --no-trunc --format '{{.CreatedBy}} {{.Size}}'";
    const host = await run('bash', ['-c', `docker image inspect --format ${fmt} berth-catalog/nginx:latest && ${history} berth-catalog/nginx:latest`]);
    const first = await sh(`docker rmi -f nginx >/dev/null 2>&1; docker pull nginx | grep Digest: && docker image inspect --format ${fmt} nginx && ${history} nginx`);
    assert.equal(first.code, 0, first.out);
    const [digest, ...seen] = first.out.trim().split('\n');
    assert.deepEqual(seen, host.stdout.trim().split('\n'), 'the same image ID, diff IDs, Cmd and history as the image built on the host');
    const again = await sh('docker rmi -f nginx >/dev/null && docker pull nginx | grep Digest:');
    assert.equal(again.out.trim(), digest, 'the same registry digest on every pull');
  });

  test("a learner's multi-stage Dockerfile FROM debian:trixie-slim builds offline", async () => {
    const r = await sh(`set -e; mkdir -p ~/multi && cd ~/multi && docker rmi -f debian:trixie-slim busybox >/dev/null 2>&1 || true
cat > Dockerfile <<'EOF'
FROM debian:trixie-slim AS build
RUN echo "built in a debian stage" > /message
FROM busybox
COPY --from=build /message /message
CMD ["cat", "/message"]
EOF
docker build -t multi . 2>&1
docker run --rm multi`, 300_000);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /built in a debian stage/);
  });

  test('a learner cannot push to the registry, not even through the address the engine pulls from', async () => {
    const host = base.replace(/^http:\/\//, '');
    const push = await sh(`docker pull -q busybox >/dev/null && docker tag busybox ${host}/library/busybox:pushed-by-learner && docker push ${host}/library/busybox:pushed-by-learner`);
    assert.notEqual(push.code, 0, push.out);
    assert.match(push.out, /unsupported|not allowed|denied|405/i);
    const upload = await sh(`curl -s -o /dev/null -w '%{http_code}' -X POST ${base}/v2/library/busybox/blobs/uploads/`);
    assert.equal(upload.out.trim(), '405');
    const del = await sh(`curl -s -o /dev/null -w '%{http_code}' -X DELETE ${base}/v2/library/busybox/manifests/latest`);
    assert.equal(del.out.trim(), '405');
    assert.equal(await registryDigest(base, 'library/busybox:pushed-by-learner'), null, 'nothing was stored');
  });

  test('sandboxes reach the registry port only: not the registry container directly, not the server on the same host', async () => {
    assert.equal((await sh(`curl -sf -m 5 ${base}/v2/_catalog`)).code, 0);
    const info = await berth.runtime.docker.getContainer(berth.registry!.containers[0]!).inspect();
    const direct = Object.values(info.NetworkSettings.Networks)[0]!.IPAddress;
    const blocked = await sh(`curl -s -m 5 http://${direct}:5000/v2/ || echo "exit $?"`);
    assert.match(blocked.out, /exit (7|28)/, 'inter-container traffic on the sandbox bridge stays disabled');
    const gateway = berth.registry!.gateway;
    const server = await sh(`curl -s -m 5 http://${gateway}:${berth.port}/ || echo "exit $?"`);
    assert.match(server.out, /exit (7|28)/, "the Berth server (on 127.0.0.1) is not reachable through the sandbox gateway");
    // Published on the gateway address only, from a read-only mount with a read-only root.
    const bindings = info.HostConfig.PortBindings?.['5000/tcp'] ?? [];
    assert.deepEqual(bindings.map((b: { HostIp?: string }) => b.HostIp), [gateway]);
    assert.equal(info.HostConfig.ReadonlyRootfs, true);
    assert.deepEqual(info.Mounts.map((m) => [m.Name, m.RW]), [[CATALOG_VOLUME, false]]);
    assert.equal(info.Config.Labels['org.berth.instance'], berth.config.instance);
    assert.equal(info.Config.Labels['org.berth.role'], 'registry');
  });

  test('a restart keeps the running registry, replaces a stale one, and sandboxes keep pulling', async () => {
    const docker = berth.runtime.docker;
    const registries = async () => (await docker.listContainers({ all: true, filters: { label: [`org.berth.instance=${berth.config.instance}`, 'org.berth.role=registry'] } })).map((c) => c.Id);
    const running = await registries();
    assert.equal(running.length, 1);
    term.close();
    await berth.stop();
    assert.deepEqual(await registries(), running, 'a stopping server leaves the registry to the sandboxes');
    // A leftover from a crash: same labels, wrong everything else.
    const stale = await docker.createContainer({ Image: 'berth-catalog/busybox:latest', Cmd: ['sleep', '600'], Labels: registryLabels(berth.config.instance, 'registry') });
    const config = berth.config;
    berth = await startTestBerth(config);
    await assert.rejects(docker.getContainer(stale.id).inspect(), /no such container/i);
    assert.deepEqual(await registries(), running, 'the restarted server adopted the running registry');
    term = new TestTerminal(berth.origin, { cookie: await newLearner(berth) });
    await term.waitForState('ready', 90_000);
    sandbox = (await berth.runtime.listSandboxes()).sort((x, y) => y.createdAt - x.createdAt)[0]!.id;
    const r = await sh('docker pull redis:8');
    assert.equal(r.code, 0, r.out);
  });
});

describe('pull-through cache (BERTH_REGISTRY_UPSTREAM): images outside the catalog, catalog images still win', () => {
  let berth: TestBerth | undefined;
  let term: TestTerminal | undefined;
  const config = testConfig();
  const upstreamName = `berth-${config.instance}-fake-upstream`;
  const upstreamVolume = `${upstreamName}-data`;
  const network = `berth-${config.instance}-sandboxes`;
  const fakeImage = `berth-test-upstream-${config.instance}:latest`;
  let catalogNginx: string | null;
  let upstream = '';

  before(async () => {
    // The upstream stands in for Docker Hub. It sits on the sandbox bridge and is published
    // on its gateway, as the registries are, so the cache reaches it without internet.
    const docker = (await import('dockerode')).default;
    const engine = new docker();
    await engine.createNetwork({ Name: network, Driver: 'bridge', Labels: berthLabels(config.instance, 'network'), Options: { 'com.docker.network.bridge.enable_icc': 'false' } });
    const gateway = await networkGateway(engine, network);
    await run('docker', ['run', '-d', '--name', upstreamName, '--network', network, '-p', `${gateway}:5600:5000`, '-p', '127.0.0.1::5000',
      '--mount', `type=volume,src=${upstreamVolume},dst=/var/lib/registry`, REGISTRY_IMAGE, 'serve-push']);
    const port = (await run('docker', ['port', upstreamName, '5000/tcp'])).stdout.split('\n').find((l) => l.startsWith('127.0.0.1'))!.split(':')[1]!.trim();
    // An image only "Docker Hub" has, and an impostor nginx that must lose to the catalog's.
    await run('sh', ['-c', `printf 'FROM berth-catalog/busybox:latest\\nLABEL org.berth.test=from-upstream\\n' | DOCKER_BUILDKIT=0 docker build -q -t ${fakeImage} -`]);
    for (const name of ['library/only-upstream:latest', 'library/nginx:latest']) {
      for (let i = 0; ; i++) {
        try {
          await run('docker', ['tag', fakeImage, `127.0.0.1:${port}/${name}`]);
          await run('docker', ['push', `127.0.0.1:${port}/${name}`]);
          break;
        } catch (err) {
          if (i > 20) throw err;
          await new Promise((r) => setTimeout(r, 250)); // the registry is still starting
        }
      }
      await run('docker', ['rmi', `127.0.0.1:${port}/${name}`]);
    }
    upstream = `http://${gateway}:5600`;
    berth = await startTestBerth({ ...config, registryUpstream: upstream });
    catalogNginx = await registryDigest(berth.registry!.mirrors[0]!, 'library/nginx:latest');
    term = new TestTerminal(berth.origin, { cookie: await newLearner(berth) });
    await term.waitForState('ready', 90_000);
  });
  after(async () => {
    term?.close();
    await berth?.destroy();
    await run('docker', ['rm', '-f', '-v', upstreamName]).catch(() => {});
    await run('docker', ['volume', 'rm', upstreamVolume, `berth-${config.instance}-registry-cache`]).catch(() => {});
    await run('docker', ['rmi', fakeImage]).catch(() => {});
    await run('docker', ['network', 'rm', network]).catch(() => {});
  });

  test('the sandbox lists the catalog first and the cache second', async () => {
    assert.equal(berth!.registry!.mirrors.length, 2);
    const out = await term!.run('docker info 2>/dev/null | grep -A2 "Registry Mirrors"');
    const [catalog, cache] = berth!.registry!.mirrors;
    assert.ok(out.indexOf(catalog!) >= 0 && out.indexOf(catalog!) < out.indexOf(cache!), out);
  });

  test('an image outside the catalog comes through the cache', async () => {
    const out = await term!.run('docker pull only-upstream && docker image inspect --format "{{index .Config.Labels \\"org.berth.test\\"}}" only-upstream', 60_000);
    assert.match(out, /Pull complete/);
    assert.match(out, /from-upstream/);
  });

  test('nginx still comes from the catalog, not from the upstream', async () => {
    const out = await term!.run('docker pull nginx', 60_000);
    assert.ok(catalogNginx);
    assert.match(out, new RegExp(`Digest: ${catalogNginx}`));
  });

  test('a cache past BERTH_REGISTRY_CACHE_MAX is emptied, and fills again', async (t) => {
    // What the cache holds, as the disk measure sees it (0: emptied, or being made again).
    const cacheBytes = async () => (await berth!.runtime.diskUsage()).cacheBytes ?? 0;
    const full = await cacheBytes();
    assert.ok(full > 1024 ** 2, `the disk measure sees the cache's ${full} B (only-upstream)`);
    term!.close();
    // Control: a restart within the default cap keeps what the cache holds, through a few measures.
    await berth!.stop();
    berth = await startTestBerth({ ...config, registryUpstream: upstream, diskCheckInterval: 1000 });
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok((await cacheBytes()) >= full, 'under the cap the cache keeps what it held');
    await berth.stop();
    // Past a 1 MiB cap, measured every second: emptied.
    berth = await startTestBerth({ ...config, registryUpstream: upstream, registryCacheMax: 1024 ** 2, diskCheckInterval: 1000 });
    let now = full;
    for (let i = 0; i < 60 && now >= full; i++) {
      await new Promise((r) => setTimeout(r, 500));
      now = await cacheBytes();
    }
    t.diagnostic(`cache held ${full} B; with a 1 MiB cap it holds ${now} B`);
    assert.ok(now < 1024 ** 2, `the cache was emptied: ${now} B`);
    term = new TestTerminal(berth.origin, { cookie: await newLearner(berth) });
    await term.waitForState('ready', 90_000);
    assert.match(await term.run('docker pull only-upstream', 60_000), /Pull complete/, 'and the cache serves again');
  });
});
