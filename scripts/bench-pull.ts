/**
 * npm run bench:pull [-- --runs N] [--image NAME] [--json FILE]
 *
 * How fast the catalog registry serves a learner, on this machine, against a real
 * Berth started in this process (private instance, port 0, localhost only):
 *   1. `docker pull nginx` in a FRESH sandbox (new learner, new nested engine, empty
 *      image store), from Berth's registry: the time a learner waits in lesson 3;
 *   2. baseline, in the same sandbox: `docker save` that image to a tar, remove it, and
 *      time `docker load` of the tar: the same layers with no registry or network;
 * each timed inside the sandbox (bash $EPOCHREALTIME around the one command), N runs
 * (default 10), each in a new sandbox that is removed afterwards. Then the catalog's
 * size on disk: the registry volume (compressed layers) and each image on the host.
 */
import { writeFileSync } from 'node:fs';
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
    image: { type: 'string', default: 'nginx' },
    json: { type: 'string' },
  },
});
const runs = Math.max(1, Math.min(50, Number(values.runs)));
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

/** Runs `command` in the sandbox and returns how long it took inside, in ms. */
async function timed(b: TestBerth, id: string, command: string, setup = 'true'): Promise<{ ms: number; out: string }> {
  const script = `set -e; ${setup}; s=$EPOCHREALTIME; ${command}; e=$EPOCHREALTIME; echo "__ms=$(( (10#\${e/./} - 10#\${s/./}) / 1000 ))"`;
  const r = await b.runtime.exec(id, ['bash', '-c', script], 300_000);
  const m = /__ms=(\d+)/.exec(r.stdout);
  if (r.exitCode !== 0 || !m) throw new Error(`\`${command}\` failed in the sandbox (exit ${r.exitCode}):\n${r.stdout}${r.stderr}`);
  return { ms: Number(m[1]), out: r.stdout };
}

try {
  berth = await startTestBerth(testConfig({ BERTH_LOG_LEVEL: 'warn' }));
  log('bench', `Berth on ${berth.origin}, registry ${berth.registry?.mirrors.join(', ') ?? '(off!)'}; ${runs} runs of docker pull ${image}`);
  const pulls: number[] = [];
  const loads: number[] = [];
  let layers = 0;
  for (let i = 1; i <= runs; i++) {
    const term = new TestTerminal(berth.origin, { cookie: await newLearner(berth) });
    await term.waitForState('ready', 120_000);
    term.close();
    const sb = (await berth.runtime.listSandboxes()).find((s) => s.running)!;
    try {
      const pull = await timed(berth, sb.id, `docker pull ${image} >/tmp/pull.log`, 'test -z "$(docker images -q)"');
      const out = (await berth.runtime.exec(sb.id, ['cat', '/tmp/pull.log'], 10_000)).stdout;
      layers = (out.match(/Pull complete/g) ?? []).length;
      const load = await timed(
        berth,
        sb.id,
        'docker load -q -i /tmp/image.tar >/dev/null',
        `docker save -o /tmp/image.tar ${image} && docker rmi -f ${image} >/dev/null && test -z "$(docker images -q)"`,
      );
      pulls.push(pull.ms);
      loads.push(load.ms);
      log('bench', `run ${i}/${runs}: pull ${pull.ms} ms (${layers} layers), docker load ${load.ms} ms`);
    } finally {
      await berth.runtime.destroy(sb.learner).catch((err: Error) => log('bench', `destroy: ${err.message}`));
    }
  }

  const registryBytes = await catalogVolumeBytes();
  const sizes: [string, number][] = [];
  for (const entry of CATALOG) {
    const info = await inspectImage(entry.ref);
    if (info) sizes.push([entry.name, info.size]);
  }
  const p = summarize(pulls);
  const l = summarize(loads);
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  console.log(`\nmachine: ${os.cpus().length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, load ${os.loadavg()[0]!.toFixed(1)}\n`);
  console.log(table(['What (ms)', 'p50', 'p90', 'min', 'max', 'runs'], [
    [`docker pull ${image}, fresh sandbox, Berth registry (${layers} layers)`, fmt(p.p50), fmt(p.p90), fmt(p.min), fmt(p.max), String(p.n)],
    [`docker load of the same image from a tar (baseline)`, fmt(l.p50), fmt(l.p90), fmt(l.min), fmt(l.max), String(l.n)],
  ], [false, true, true, true, true, true]));
  console.log(`\npull / load at p50: ${(p.p50 / l.p50).toFixed(2)}x\n`);
  console.log(table(['Catalog on disk', 'size'], [
    [`registry volume ${CATALOG_VOLUME} (compressed layers, every tag)`, registryBytes === undefined ? '?' : mb(registryBytes)],
    ...sizes.map(([n, s]) => [`  image ${n} on the host (uncompressed, shares the base)`, mb(s)]),
  ]));
  if (values.json) {
    writeFileSync(values.json, JSON.stringify({ image, pull: p, load: l, pulls, loads, layers, registryBytes, imageBytes: Object.fromEntries(sizes) }, null, 2));
  }
} finally {
  await cleanup();
}
