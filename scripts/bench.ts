/**
 * npm run bench [-- --runs N] [--json FILE] [--echo-samples N] [--echo-warmup N]
 *                [--echo-gap MS] [--max-minutes M]
 *
 * Latency a learner feels, on this machine, against a real Berth started in this
 * process (private instance name, port 0, localhost only) and a real Chromium:
 *   1. page load -> usable prompt, COLD (new browser context = new learner = new sandbox)
 *   2. page load -> usable prompt, WARM (same context, sandbox running: reload)
 *   3. keystroke echo through Berth's WebSocket
 *   4. the same echo through a raw `docker exec` TTY from this process (baseline)
 * plus this process's memory before/after. It prints a table (stdout), progress
 * (stderr), and with --json FILE the numbers. Every loop is bounded in count and
 * time; everything it starts is removed at the end, also on Ctrl+C.
 */
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import Docker from 'dockerode';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium } from '../tests/helpers/browser.ts';
import { buildSite } from './lib/site.ts';
import { log } from './lib/run.ts';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../tests/helpers/berth.ts';
import { handleOf } from '../sandbox-server/src/identity.ts';
import { LEARNER_COOKIE } from '../sandbox-server/src/protocol.ts';
import { PHASES, PromptWatch, type LoadSample } from './lib/bench-page.ts';
import { BerthPort, RawPort, measureEcho, rawExecShell, startCat, type EchoPort } from './lib/bench-echo.ts';
import { fmt, mib, summarize, table, type Summary } from './lib/bench-stats.ts';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const LESSON = '/en/lessons/00-welcome/';
const TARGET = { coldMs: 5000, warmMs: 1000, echoP99OverRawMs: 2 };
// Belt and braces: no name but localhost resolves, so the page can only talk to Berth.
const CHROMIUM_EXTRA_ARGS = ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'];

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    json: { type: 'string' },
    'echo-samples': { type: 'string', default: '200' },
    'echo-warmup': { type: 'string', default: '20' },
    'echo-gap': { type: 'string', default: '5' },
    'max-minutes': { type: 'string', default: '20' },
  },
  strict: true,
});
const int = (name: string, raw: string | undefined, min: number, max: number): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be an integer from ${min} to ${max} (got ${raw})`);
    process.exit(2);
  }
  return n;
};
const RUNS = int('runs', opt.runs, 1, 200);
const ECHO_SAMPLES = int('echo-samples', opt['echo-samples'], 10, 5000);
const ECHO_WARMUP = int('echo-warmup', opt['echo-warmup'], 0, 1000);
const ECHO_GAP_MS = int('echo-gap', opt['echo-gap'], 0, 1000);
const MAX_MINUTES = int('max-minutes', opt['max-minutes'], 1, 120);
const JSON_FILE = opt.json ? resolve(opt.json) : undefined;

// ---- lifetime: one cleanup, run once, from the end of main, Ctrl+C or the deadline ----

let berth: TestBerth | undefined;
let browser: Browser | undefined;
const ports: EchoPort[] = [];
let abortReason: string | undefined;
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const p of ports.splice(0)) p.close();
    await browser?.close().catch(() => {});
    browser = undefined;
    if (berth) {
      log('bench', `removing instance ${berth.config.instance} (server, sandboxes, volumes, network)`);
      await berth.destroy().catch((err: Error) => log('bench', `cleanup: ${err.message}`));
      berth = undefined;
    }
  })();
  return cleaning;
}

function abort(reason: string, code: number): void {
  if (abortReason) {
    log('bench', 'second interrupt: exiting without waiting for cleanup');
    process.exit(code);
  }
  abortReason = reason;
  log('bench', `${reason}: cleaning up`);
  void cleanup().finally(() => process.exit(code));
}
process.on('SIGINT', () => abort('interrupted', 130));
process.on('SIGTERM', () => abort('terminated', 143));
const deadline = setTimeout(() => abort(`over the ${MAX_MINUTES} min limit`, 1), MAX_MINUTES * 60_000);

const checkAbort = () => {
  if (abortReason) throw new Error(abortReason);
};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- memory sampling: this process holds Berth (and the Playwright client) ----

let peakRss = 0;
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 250);
rssTimer.unref();
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
/** Memory after a full GC, so heap numbers compare across runs. */
const memory = () => {
  gc();
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
};

// ---- the benchmarks ----

/**
 * Server-side arrival times (epoch ms) of the page's requests, recorded by listeners
 * added in front of Berth's own on its http.Server (observing only), so the
 * breakdown can show where a gap is spent: in the page, on the wire or in Berth.
 */
const serverEvents: { kind: string; at: number }[] = [];
function tapServer(t: TestBerth): void {
  const now = () => performance.timeOrigin + performance.now();
  t.server.prependListener('request', (req) => {
    const path = (req.url ?? '').split('?')[0];
    const kind = path === '/api/session' ? 'srv:session' : path === LESSON ? 'srv:html' : undefined;
    if (kind) serverEvents.push({ kind, at: now() });
    if (serverEvents.length > 1000) serverEvents.splice(0, 500);
  });
  t.server.prependListener('upgrade', () => serverEvents.push({ kind: 'srv:upgrade', at: now() }));
}

/** Adds the first server event of each kind after the document began, on its timeline. */
function withServerPhases(s: LoadSample): LoadSample {
  for (const e of serverEvents) {
    if (e.at < s.timeOrigin - 20 || e.kind in s.phases) continue;
    s.phases[e.kind] = e.at - s.timeOrigin;
  }
  return s;
}

async function learnerHandle(context: BrowserContext): Promise<string | undefined> {
  const id = (await context.cookies()).find((c) => c.name === LEARNER_COOKIE)?.value;
  return id ? handleOf(id) : undefined;
}

async function newContext(b: Browser): Promise<{ context: BrowserContext; watch: PromptWatch }> {
  const context = await b.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const watch = await PromptWatch.attach(context);
  return { context, watch };
}

/** COLD: a fresh context each run, so a new cookie, a new learner and a new sandbox. */
async function coldRuns(b: Browser, t: TestBerth, url: string): Promise<{ warmup: LoadSample; samples: LoadSample[] }> {
  const samples: LoadSample[] = [];
  let warmup: LoadSample | undefined;
  for (let i = 0; i <= RUNS; i++) {
    checkAbort();
    const { context, watch } = await newContext(b);
    try {
      const page = await context.newPage();
      const s = withServerPhases(await watch.measure(page, () => page.goto(url, { waitUntil: 'commit', timeout: 30_000 }), 120_000, `cold run ${i}`));
      if (i === 0) warmup = s;
      else samples.push(s);
      log('bench', `cold ${i === 0 ? 'warm-up' : `${i}/${RUNS}`}: ${fmt(s.totalMs)} ms`);
    } finally {
      const handle = await learnerHandle(context).catch(() => undefined);
      await context.close().catch(() => {});
      // Destroy as we go: every run starts on a machine with the same load.
      if (handle) await t.runtime.destroy(handle).catch((err: Error) => log('bench', `destroy: ${err.message}`));
    }
  }
  return { warmup: warmup!, samples };
}

/** WARM: one context whose sandbox is up; each run reloads the page. */
async function warmRuns(b: Browser, t: TestBerth, url: string): Promise<{ first: LoadSample; samples: LoadSample[] }> {
  const { context, watch } = await newContext(b);
  const samples: LoadSample[] = [];
  try {
    const page = await context.newPage();
    const first = await watch.measure(page, () => page.goto(url, { waitUntil: 'commit', timeout: 30_000 }), 120_000, 'warm: first load');
    log('bench', `warm: first (cold) load ${fmt(first.totalMs)} ms; one uncounted reload, then ${RUNS}`);
    await sleep(1000);
    for (let i = 0; i <= RUNS; i++) {
      checkAbort();
      const s = withServerPhases(await watch.measure(page, () => page.reload({ waitUntil: 'commit', timeout: 30_000 }), 30_000, `warm run ${i}`));
      if (i > 0) samples.push(s);
      log('bench', `warm ${i === 0 ? 'warm-up' : `${i}/${RUNS}`}: ${fmt(s.totalMs)} ms`);
      await sleep(250);
    }
    return { first, samples };
  } finally {
    const handle = await learnerHandle(context).catch(() => undefined);
    await context.close().catch(() => {});
    if (handle) await t.runtime.destroy(handle).catch(() => {});
  }
}

/** ECHO: Berth's socket and a raw exec TTY into the same fresh sandbox, alternating. */
async function echoRuns(t: TestBerth): Promise<Record<string, number[]>> {
  const cookie = await newLearner(t);
  const handle = handleOf(cookie.slice(cookie.indexOf('=') + 1));
  const berthPort = await BerthPort.open(t.origin, cookie, 120_000);
  ports.push(berthPort);
  const info = await t.runtime.find(handle);
  if (!info) throw new Error('the echo sandbox is not there');
  const rawPort = new RawPort(await rawExecShell(t.runtime.docker, info.id, 120, 40));
  ports.push(rawPort);
  await startCat(berthPort);
  await startCat(rawPort);
  // The nested engine has just started: let the sandbox settle (order alternates anyway).
  await sleep(3000);
  log('bench', `echo: ${ECHO_WARMUP} warm-up + ${ECHO_SAMPLES} keys per path, alternating, ${ECHO_GAP_MS} ms apart`);
  const began = performance.now();
  const res = await measureEcho([berthPort, rawPort], {
    warmup: ECHO_WARMUP,
    samples: ECHO_SAMPLES,
    gapMs: ECHO_GAP_MS,
    keyTimeoutMs: 5000,
    aborted: () => abortReason !== undefined,
  });
  log('bench', `echo: done in ${fmt((performance.now() - began) / 1000, 1)} s`);
  for (const p of ports.splice(0)) p.close();
  await t.runtime.destroy(handle).catch(() => {});
  return res;
}

async function machineInfo(docker: Docker) {
  const [version, info] = await Promise.all([docker.version(), docker.info()]);
  return {
    host: os.hostname(),
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? '?',
    memTotal: os.totalmem(),
    memFree: os.freemem(),
    kernel: os.release(),
    loadAtStart: os.loadavg(),
    node: process.version,
    docker: `${version.Version} (API ${version.ApiVersion}, ${info.Driver}, cgroup v${info.CgroupVersion ?? '?'})`,
  };
}

async function sandboxImage(docker: Docker): Promise<string> {
  if (process.env.BERTH_SANDBOX_IMAGE) return process.env.BERTH_SANDBOX_IMAGE;
  for (const image of ['berth/sandbox:latest', 'berth/sandbox:dev']) {
    if (await docker.getImage(image).inspect().then(() => true, () => false)) return image;
  }
  throw new Error('no sandbox image (berth/sandbox:latest or :dev): run npm run images');
}

// ---- report ----

const loadRow = (label: string, s: Summary, target: number) => [
  label,
  String(s.n),
  fmt(s.p50),
  fmt(s.p90),
  fmt(s.max),
  `< ${target}`,
  s.p90 < target ? 'ok' : 'MISS',
];

function breakdown(cold: LoadSample[], warm: LoadSample[]): string {
  const med = (xs: LoadSample[], k: string) => {
    const v = xs.map((x) => x.phases[k]).filter((n): n is number => typeof n === 'number');
    return v.length ? fmt(summarize(v).p50) : '-';
  };
  const rows = PHASES.map(([k, label]) => [label, med(cold, k), med(warm, k)]);
  return table(['phase (median ms since navigation start; first row: since goto)', 'cold', 'warm'], rows);
}

async function main(): Promise<void> {
  const docker = new Docker();
  const machine = await machineInfo(docker);
  const image = await sandboxImage(docker);
  await buildSite(root);
  checkAbort();

  berth = await startTestBerth(
    testConfig({
      BERTH_SANDBOX_IMAGE: image,
      BERTH_SITE_DIR: join(root, 'dist'),
      BERTH_LOG_LEVEL: process.env.BERTH_BENCH_LOG_LEVEL ?? 'warn',
    }),
  );
  const t = berth;
  tapServer(t);
  const url = t.origin + LESSON;
  log('bench', `Berth ${t.config.instance} at ${t.origin}, image ${image}`);
  const memBefore = memory();

  browser = await launchChromium(CHROMIUM_EXTRA_ARGS, {
    headless: true,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const chromiumVersion = browser.version();

  const cold = await coldRuns(browser, t, url);
  const warm = await warmRuns(browser, t, url);
  await browser.close();
  browser = undefined;

  const echo = await echoRuns(t);
  const memAfter = memory();
  const sandboxesLeft = (await t.runtime.listSandboxes()).length;
  const loadAtEnd = os.loadavg();

  // ---- print ----
  const coldS = summarize(cold.samples.map((s) => s.totalMs));
  const warmS = summarize(warm.samples.map((s) => s.totalMs));
  const berthE = summarize(echo.berth!);
  const rawE = summarize(echo['raw docker exec']!);
  const out: string[] = [];
  out.push(`Berth bench  ${new Date().toISOString()}`);
  out.push(
    `machine: ${machine.nproc} CPUs (${machine.cpu}), ${mib(machine.memTotal)} RAM (${mib(machine.memFree)} free), kernel ${machine.kernel}`,
  );
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  out.push(`load average (1/5/15 min): ${load(machine.loadAtStart)} at start, ${load(loadAtEnd)} at end (other work on the machine widens the spread)`);
  out.push(`docker ${machine.docker}; node ${machine.node}; chromium ${chromiumVersion}; sandbox image ${image} (limits: ${t.config.sandboxCpus} CPU, ${mib(t.config.sandboxMemory)})`);
  out.push('');
  out.push(`Page load -> usable prompt (${LESSON}; goto/reload -> data-state=ready and "learner@berth...$" in .xterm-rows)`);
  out.push(
    table(
      ['', 'runs', 'p50 ms', 'p90 ms', 'max ms', 'target', 'p90'],
      [loadRow('cold (new learner, new sandbox)', coldS, TARGET.coldMs), loadRow('warm (sandbox running, reload)', warmS, TARGET.warmMs)],
      [false, true, true, true, true, true, false],
    ),
  );
  out.push(`  (not counted: cold warm-up run ${fmt(cold.warmup.totalMs)} ms; first load of the warm context ${fmt(warm.first.totalMs)} ms, then one uncounted reload)`);
  out.push('');
  out.push(breakdown(cold.samples, warm.samples));
  out.push('');
  out.push(`Keystroke echo (1 byte in, its tty echo back; cat > /dev/null in the foreground; ${ECHO_SAMPLES} keys after ${ECHO_WARMUP} warm-up, ${ECHO_GAP_MS} ms apart, paths alternating)`);
  const d50 = berthE.p50 - rawE.p50;
  const d99 = berthE.p99 - rawE.p99;
  out.push(
    table(
      ['', 'n', 'p50 ms', 'p99 ms', 'max ms', 'mean ms'],
      [
        ['Berth WebSocket', String(berthE.n), fmt(berthE.p50, 2), fmt(berthE.p99, 2), fmt(berthE.max, 2), fmt(berthE.mean, 2)],
        ['raw docker exec', String(rawE.n), fmt(rawE.p50, 2), fmt(rawE.p99, 2), fmt(rawE.max, 2), fmt(rawE.mean, 2)],
        ['Berth - raw', '', fmt(d50, 2), fmt(d99, 2), '', fmt(berthE.mean - rawE.mean, 2)],
        ['Berth / raw', '', `${fmt(berthE.p50 / rawE.p50, 2)}x`, `${fmt(berthE.p99 / rawE.p99, 2)}x`, '', ''],
      ],
      [false, true, true, true, true, true],
    ),
  );
  out.push(`  target: p99 within ${TARGET.echoP99OverRawMs} ms of raw -> ${d99 <= TARGET.echoP99OverRawMs ? 'ok' : 'MISS'} (${fmt(d99, 2)} ms)`);
  out.push('');
  out.push('Memory of this process after a full GC (Berth server in-process, plus the Playwright client; Chromium is separate)');
  out.push(
    table(
      ['', 'rss', 'heap used', 'external'],
      [
        ['before (Berth started, no sandbox)', mib(memBefore.rss), mib(memBefore.heapUsed), mib(memBefore.external)],
        [`after (${sandboxesLeft} sandboxes left)`, mib(memAfter.rss), mib(memAfter.heapUsed), mib(memAfter.external)],
        ['peak rss (sampled every 250 ms)', mib(peakRss), '', ''],
      ],
    ),
  );
  console.log(out.join('\n'));

  if (JSON_FILE) {
    const json = {
      at: new Date().toISOString(),
      machine: { ...machine, chromium: chromiumVersion, image, sandboxCpus: t.config.sandboxCpus, sandboxMemory: t.config.sandboxMemory },
      settings: { runs: RUNS, lesson: LESSON, echoSamples: ECHO_SAMPLES, echoWarmup: ECHO_WARMUP, echoGapMs: ECHO_GAP_MS },
      targets: TARGET,
      cold: { summary: coldS, warmupMs: cold.warmup.totalMs, runs: cold.samples },
      warm: { summary: warmS, firstLoadMs: warm.first.totalMs, runs: warm.samples },
      echo: {
        berth: { summary: berthE, samples: echo.berth },
        raw: { summary: rawE, samples: echo['raw docker exec'] },
        diff: { p50: d50, p99: d99, mean: berthE.mean - rawE.mean },
        ratio: { p50: berthE.p50 / rawE.p50, p99: berthE.p99 / rawE.p99 },
      },
      memory: { before: memBefore, after: memAfter, peakRss },
      loadAtEnd,
      pass: {
        cold: coldS.p90 < TARGET.coldMs,
        warm: warmS.p90 < TARGET.warmMs,
        echo: d99 <= TARGET.echoP99OverRawMs,
      },
    };
    writeFileSync(JSON_FILE, `${JSON.stringify(json, null, 2)}\n`);
    log('bench', `wrote ${JSON_FILE}`);
  }
}

let exitCode = 0;
try {
  await main();
} catch (err) {
  if (!abortReason) {
    log('bench', `failed: ${(err as Error).stack ?? err}`);
    exitCode = 1;
  }
} finally {
  await cleanup();
  clearTimeout(deadline);
  clearInterval(rssTimer);
}
process.exitCode = exitCode;
