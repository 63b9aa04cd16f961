/**
 * npm run bench:pull [-- --runs N] [--burst N] [--image NAME] [--no-build] [--json FILE]
 *
 * How fast a learner gets images, on this machine, against a real Berth started in this
 * process (private instance, port 0, localhost only). Every time is taken inside the
 * sandbox (bash $EPOCHREALTIME around the one command):
 *   1. single: in each of --runs FRESH sandboxes (new learner, new nested engine, empty
 *      image store), in order:
 *      - raw download: curl of every blob of the image's manifest from Berth's registry
 *        (the same mirror URL the engine uses), to /dev/null: the floor for a pull;
 *      - `docker pull nginx`, as the learner types it;
 *      - `docker load` of the same image from a tar (`docker save` first): the same
 *        layers with no registry, network or decompression;
 *   2. burst (--burst N, default 4; 0 skips it): N fresh sandboxes, all ready, then
 *      `docker pull` in every one at the same moment, as a class does; p50/p95/max;
 *   3. build (unless --no-build): a learner's small Dockerfile FROM debian:trixie-slim
 *      (RUN, COPY) in a fresh sandbox: cold (pulls the base), cached rebuild, and a
 *      cached rebuild after an idle stop (the idle sweep's stop) and the learner's
 *      return; the number of CACHED steps BuildKit printed.
 * Then the catalog's size on disk. Ratios are against the raw download of the same run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { log } from './lib/run.ts';
import { fmt, summarize, table } from './lib/bench-stats.ts';
import { CATALOG, CATALOG_VOLUME, catalogVolumeBytes, inspectImage } from './lib/images.ts';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../tests/helpers/berth.ts';
import { TestTerminal } from '../tests/helpers/terminal-client.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    burst: { type: 'string', default: '4' },
    image: { type: 'string', default: 'nginx' },
    'no-build': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const runs = Math.max(1, Math.min(50, Number(values.runs)));
const burstN = Math.max(0, Math.min(100, Number(values.burst)));
const image = values.image!;

let berth: TestBerth | undefined;
async function cleanup(): Promise<void> {
  const b = berth;
  berth = undefined;
  if (b) await b.destroy().catch((err: Error) => log('bench', `cleanup: ${err.message}`));
}
const abort = (why: string, code: number) => {
  log('bench', `${why}; cleaning up`);
  void cleanup().finally(() => process.exit(code));
};
process.on('SIGINT', () => abort('interrupted', 130));
process.on('SIGTERM', () => abort('terminated', 143));

/**
 * CPU time the sandbox's container has used so far, in ms (its cgroup, read on this
 * host: v1 cpuacct or v2 cpu.stat); undefined when the engine's cgroups are elsewhere.
 * Unlike wall time, it barely moves with the load other work puts on the machine.
 */
function cpuMs(id: string): number | undefined {
  const tries: [string, (t: string) => number][] = [
    [`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, (t) => Number(t) / 1e6],
    [`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, (t) => Number(/usage_usec (\d+)/.exec(t)?.[1]) / 1e3],
    [`/sys/fs/cgroup/docker/${id}/cpu.stat`, (t) => Number(/usage_usec (\d+)/.exec(t)?.[1]) / 1e3],
  ];
  for (const [path, parse] of tries) {
    try {
      const v = parse(readFileSync(path, 'utf8'));
      if (Number.isFinite(v)) return v;
    } catch {
      // not this layout
    }
  }
  return undefined;
}

/**
 * Runs `setup` (its own exec), then `command` after `prelude` (same shell: variables) in
 * the sandbox; returns how long the command took inside, in ms, and the sandbox's CPU
 * time over that second exec (NaN if unknown).
 */
async function timed(b: TestBerth, id: string, command: string, opts: { setup?: string; prelude?: string } = {}): Promise<{ ms: number; cpu: number; out: string }> {
  const run = async (script: string) => {
    const r = await b.runtime.exec(id, ['bash', '-c', `set -e; ${script}`], 600_000);
    if (r.exitCode !== 0) throw new Error(`\`${script}\` failed in the sandbox (exit ${r.exitCode}):\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  if (opts.setup) await run(opts.setup);
  const cpu0 = cpuMs(id) ?? Number.NaN;
  const out = await run(`${opts.prelude ?? 'true'}; s=$EPOCHREALTIME; ${command}; e=$EPOCHREALTIME; echo "__ms=$(( (10#\${e/./} - 10#\${s/./}) / 1000 ))"`);
  const cpu = (cpuMs(id) ?? Number.NaN) - cpu0;
  return { ms: Number(/__ms=(\d+)/.exec(out)![1]), cpu, out };
}

/** A new learner's sandbox, ready; returns its container ID. */
async function freshSandbox(b: TestBerth, cookie?: string): Promise<string> {
  const before = new Set((await b.runtime.listSandboxes()).map((s) => s.id));
  const term = new TestTerminal(b.origin, { cookie: cookie ?? (await newLearner(b)) });
  await term.waitForState('ready', 180_000);
  term.close();
  const sb = (await b.runtime.listSandboxes()).find((s) => s.running && !before.has(s.id));
  if (!sb) throw new Error('the new sandbox is not listed');
  return sb.id;
}

async function destroy(b: TestBerth, id: string): Promise<void> {
  const sb = (await b.runtime.listSandboxes()).find((s) => s.id === id);
  if (sb) await b.runtime.destroy(sb.learner).catch((err: Error) => log('bench', `destroy: ${err.message}`));
}

// The blobs of `image` (config and layers), fetched the way the engine does: from the
// first mirror in the sandbox's daemon.json, with the manifest types the engine accepts.
const RAW_DOWNLOAD = `m=$(jq -r '."registry-mirrors"[0]' "$XDG_RUNTIME_DIR/daemon.json"); r=${image.includes('/') ? image : `library/${image}`}; t=latest;
  man=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' "$m/v2/$r/manifests/$t");
  args=(); for d in $(jq -r '.config.digest, .layers[].digest' <<<"$man"); do args+=(-o /dev/null "$m/v2/$r/blobs/$d"); done`;

try {
  // Every sandbox is this process's, from one address: room for the whole burst.
  const room = String(Math.max(4, burstN + 2));
  berth = await startTestBerth(testConfig({ BERTH_LOG_LEVEL: 'warn', BERTH_MAX_SANDBOXES: room, BERTH_SANDBOXES_PER_ADDRESS: room }));
  log('bench', `Berth on ${berth.origin}, registry ${berth.registry?.mirrors.join(', ') ?? '(off!)'}, sandbox image ${berth.config.sandboxImage}`);
  log('bench', `${runs} single runs, a burst of ${burstN}${values['no-build'] ? '' : ', a build'}; image ${image}`);

  // 1. One sandbox at a time.
  const raws: number[] = [];
  const pulls: number[] = [];
  const loads: number[] = [];
  const cpu = { raw: [] as number[], pull: [] as number[], load: [] as number[], burst: [] as number[] };
  let layers = 0;
  let layerType = '?';
  for (let i = 1; i <= runs; i++) {
    const id = await freshSandbox(berth);
    try {
      const raw = await timed(berth, id, 'curl -sf "${args[@]}"', { prelude: RAW_DOWNLOAD });
      const pull = await timed(berth, id, `docker pull ${image} >/tmp/pull.log`, { setup: 'test -z "$(docker images -q)"' });
      const out = (await berth.runtime.exec(id, ['cat', '/tmp/pull.log'], 10_000)).stdout;
      layers = (out.match(/Pull complete/g) ?? []).length;
      const load = await timed(
        berth,
        id,
        'docker load -q -i /tmp/image.tar >/dev/null',
        { setup: `docker save -o /tmp/image.tar ${image} && docker rmi -f ${image} >/dev/null && test -z "$(docker images -q)"` },
      );
      if (i === 1) {
        const types = await timed(berth, id, `jq -r '[.layers[].mediaType] | unique | join(", ")' <<<"$man"`, { prelude: RAW_DOWNLOAD });
        layerType = types.out.split('\n')[0]!.replace(/^application\/vnd\.(oci\.image|docker\.image\.rootfs)\./, '');
      }
      raws.push(raw.ms);
      pulls.push(pull.ms);
      loads.push(load.ms);
      cpu.raw.push(raw.cpu);
      cpu.pull.push(pull.cpu);
      cpu.load.push(load.cpu);
      log('bench', `run ${i}/${runs}: raw download ${raw.ms} ms, pull ${pull.ms} ms (${layers} layers, CPU ${fmt(pull.cpu)} ms), docker load ${load.ms} ms`);
    } finally {
      await destroy(berth, id);
    }
  }

  // 2. A class: N sandboxes pull at once.
  const burst: number[] = [];
  let burstWall = 0;
  if (burstN > 0) {
    log('bench', `burst: starting ${burstN} sandboxes ...`);
    const ids: string[] = [];
    try {
      for (let i = 0; i < burstN; i++) ids.push(await freshSandbox(berth));
      await new Promise((r) => setTimeout(r, 3000)); // let the last engines settle
      log('bench', `burst: ${burstN} sandboxes pull ${image} at once`);
      const t0 = performance.now();
      const results = await Promise.all(ids.map((id) => timed(berth!, id, `docker pull -q ${image} >/dev/null`)));
      burstWall = performance.now() - t0;
      burst.push(...results.map((r) => r.ms));
      cpu.burst.push(...results.map((r) => r.cpu));
      log('bench', `burst: all done in ${Math.round(burstWall)} ms; each: ${burst.join(', ')} ms`);
    } finally {
      for (const id of ids) await destroy(berth, id);
    }
  }

  // 3. A learner's build, cold, cached, and cached after a stop and start.
  const build: { what: string; ms: number; cpu: number; cached: number; steps: number }[] = [];
  if (!values['no-build']) {
    const cookie = await newLearner(berth);
    const id = await freshSandbox(berth, cookie);
    try {
      await timed(berth, id, 'true', { setup: `mkdir -p ~/app && cd ~/app && echo hello > hello.txt && printf '%s\\n' 'FROM debian:trixie-slim' 'RUN echo built at $(date +%s%N) > /built.txt' 'COPY hello.txt /hello.txt' 'CMD ["cat", "/built.txt", "/hello.txt"]' > Dockerfile` });
      const step = async (what: string) => {
        const r = await timed(berth!, id, 'docker build --progress=plain -t myapp ~/app >/tmp/build.log 2>&1');
        const logText = (await berth!.runtime.exec(id, ['cat', '/tmp/build.log'], 10_000)).stdout;
        const cached = (logText.match(/^#\d+ CACHED$/gm) ?? []).length;
        const steps = (logText.match(/^#\d+ \[\d+\/\d+\] /gm) ?? []).length;
        build.push({ what, ms: r.ms, cpu: r.cpu, cached, steps });
        log('bench', `build ${what}: ${r.ms} ms, ${cached} CACHED`);
      };
      await step('cold (pulls debian:trixie-slim)');
      await step('again (cache)');
      // The idle sweep's own stop (as if the learner had been away), then the learner returns.
      const stopped = performance.now();
      // (It also "stops" the burst's sandboxes if the manager has not yet seen them removed.)
      await berth.manager.stopIdle(Date.now() + 365 * 86_400_000);
      if ((await berth.runtime.listSandboxes()).find((s) => s.id === id)?.running !== false) throw new Error('the idle sweep did not stop the build sandbox');
      const back = new TestTerminal(berth.origin, { cookie });
      await back.waitForState('ready', 180_000);
      back.close();
      log('bench', `build: idle stop and resume in ${Math.round(performance.now() - stopped)} ms`);
      await step('after idle stop + resume (cache)');
    } finally {
      await destroy(berth, id);
    }
  }

  const registryBytes = await catalogVolumeBytes();
  const sizes: [string, number][] = [];
  for (const entry of CATALOG) {
    const info = await inspectImage(entry.ref);
    if (info) sizes.push([entry.name, info.size]);
  }
  const r = summarize(raws);
  const p = summarize(pulls);
  const l = summarize(loads);
  const b = summarize(burst);
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  const x = (n: number) => `${(n / r.p50).toFixed(1)}x`;
  const p95 = (s: number[]) => [...s].sort((a, c) => a - c)[Math.max(0, Math.ceil(0.95 * s.length) - 1)] ?? Number.NaN;
  console.log(`\nmachine: ${os.cpus().length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, load ${os.loadavg()[0]!.toFixed(1)}; layers: ${layerType}\n`);
  const c50 = (v: number[]) => fmt(summarize(v.filter(Number.isFinite)).p50);
  console.log(table(['What (ms)', 'p50', 'p90', 'p95', 'min', 'max', 'n', 'p50 / raw', 'CPU p50'], [
    [`raw download of ${image}'s blobs from Berth's registry (curl, in the sandbox)`, fmt(r.p50), fmt(r.p90), fmt(p95(raws)), fmt(r.min), fmt(r.max), String(r.n), '1.0x', c50(cpu.raw)],
    [`docker pull ${image}, fresh sandbox (${layers} layers)`, fmt(p.p50), fmt(p.p90), fmt(p95(pulls)), fmt(p.min), fmt(p.max), String(p.n), x(p.p50), c50(cpu.pull)],
    [`docker load of the same image from a tar (no registry)`, fmt(l.p50), fmt(l.p90), fmt(p95(loads)), fmt(l.min), fmt(l.max), String(l.n), x(l.p50), c50(cpu.load)],
    ...(burst.length ? [[`docker pull ${image}, ${burstN} sandboxes at once (class burst)`, fmt(b.p50), fmt(b.p90), fmt(p95(burst)), fmt(b.min), fmt(b.max), String(b.n), x(b.p50), c50(cpu.burst)]] : []),
  ], [false, true, true, true, true, true, true, true, true]));
  console.log('(CPU: the sandbox container\'s CPU time during the command, from its cgroup: what a class multiplies)');
  if (burst.length) console.log(`\nburst of ${burstN}: p95 ${fmt(p95(burst))} ms, all done in ${fmt(burstWall)} ms (host clock); floor at this CPU cost: ${burstN} x single-pull CPU p50 / ${os.cpus().length} cores = ${fmt((burstN * summarize(cpu.pull.filter(Number.isFinite)).p50) / os.cpus().length)} ms`);
  if (build.length) {
    console.log('');
    console.log(table(['Learner build FROM debian:trixie-slim (RUN, COPY)', 'ms', 'CPU', 'CACHED steps'], build.map((s) => [s.what, fmt(s.ms), fmt(s.cpu), `${s.cached} of ${s.steps}`])));
  }
  console.log('');
  console.log(table(['Catalog on disk', 'size'], [
    [`registry volume ${CATALOG_VOLUME} (compressed layers, every tag)`, registryBytes === undefined ? '?' : mb(registryBytes)],
    ...sizes.map(([n, s]) => [`  image ${n} on the host (uncompressed, shares the base)`, mb(s)]),
  ]));
  if (values.json) {
    writeFileSync(values.json, JSON.stringify({ image, layerType, raw: r, pull: p, load: l, burst: { sandboxes: burstN, ...b, p95: p95(burst), wallMs: burstWall }, raws, pulls, loads, bursts: burst, cpu, build, layers, registryBytes, imageBytes: Object.fromEntries(sizes) }, null, 2));
  }
} finally {
  await cleanup();
}
