/**
 * npm run bench:capacity [-- --sandboxes N]
 *
 * What a classroom costs this machine, measured on a real Berth in this process:
 *   - memory of one IDLE sandbox (a ready shell, nested engine up, nothing running),
 *     from its cgroup (usage minus page cache) and from the host's MemAvailable drop;
 *   - the same for a raw-engine baseline measured in the same run: a plain
 *     `debian:trixie-slim` container running `sleep` (what "a container" costs);
 *   - how many idle sandboxes this machine holds (MemAvailable / per-sandbox cost)
 *     and how many the memory LIMITS allow (what BERTH_MAX_SANDBOXES defaults to);
 *   - resume time after an idle stop (data kept), per learner.
 * Everything it starts is removed at the end.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { newLearner, startTestBerth, testConfig } from '../tests/helpers/berth.ts';
import { defaultMaxSandboxes } from '../sandbox-server/src/capacity.ts';
import { TestTerminal } from '../tests/helpers/terminal-client.ts';
import { hostMemAvailable } from '../tests/adversarial/helpers.ts';
import { fmt, mib, summarize, table } from './lib/bench-stats.ts';
import { log } from './lib/run.ts';

const { values: opt } = parseArgs({ options: { sandboxes: { type: 'string', default: '10' } }, strict: true });
const N = Number(opt.sandboxes);
if (!Number.isInteger(N) || N < 1 || N > 60) {
  console.error('--sandboxes must be an integer from 1 to 60');
  process.exit(2);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const berth = await startTestBerth(testConfig({ BERTH_WARM_POOL: '0', BERTH_MAX_SANDBOXES: String(N + 2), BERTH_SANDBOXES_PER_ADDRESS: String(N + 2), BERTH_LOG_LEVEL: 'error' }));
const docker = berth.runtime.docker;

/** A container's memory use without page cache (what `docker stats` shows), in bytes. */
async function containerMemory(id: string): Promise<number> {
  const s = (await docker.getContainer(id).stats({ stream: false })) as unknown as { memory_stats: { usage: number; stats: { cache?: number; total_inactive_file?: number } } };
  return s.memory_stats.usage - (s.memory_stats.stats.cache ?? s.memory_stats.stats.total_inactive_file ?? 0);
}

try {
  // Baseline: N plain containers on the raw engine.
  const availBeforeRaw = hostMemAvailable();
  const raw = [];
  for (let i = 0; i < N; i++) {
    const c = await docker.createContainer({ Image: 'debian:trixie-slim', Cmd: ['sleep', '3600'], Labels: { 'org.berth.instance': berth.config.instance } });
    await c.start();
    raw.push(c);
  }
  await sleep(5000);
  const rawCgroup = summarize(await Promise.all(raw.map((c) => containerMemory(c.id))));
  const rawHost = (availBeforeRaw - hostMemAvailable()) / N;
  for (const c of raw) await c.remove({ force: true });
  await sleep(3000);

  log('bench', `starting ${N} sandboxes`);
  const availBefore = hostMemAvailable();
  const cookies: string[] = [];
  for (let i = 0; i < N; i++) {
    const cookie = await newLearner(berth);
    const term = new TestTerminal(berth.origin, { cookie });
    await term.waitForState('ready', 120_000);
    term.close(); // the sandbox keeps running until its idle timeout
    cookies.push(cookie);
  }
  await sleep(15_000); // let the engines settle
  const sandboxes = await berth.runtime.listSandboxes();
  const perCgroup = summarize(await Promise.all(sandboxes.map((s) => containerMemory(s.id))));
  const perHost = (availBefore - hostMemAvailable()) / N;

  log('bench', 'idle-stopping them all, then resuming each');
  await berth.manager.stopIdle(Date.now() + 365 * 24 * 3600_000);
  const resumes: number[] = [];
  for (const cookie of cookies.slice(0, Math.min(N, 5))) {
    const began = Date.now();
    const term = new TestTerminal(berth.origin, { cookie });
    await term.waitForState('ready', 120_000);
    resumes.push(Date.now() - began);
    term.close();
  }
  const resume = summarize(resumes);
  const limitBytes = berth.config.sandboxMemory;

  console.log(`\nBerth capacity on this machine (${os.cpus().length} cores, ${mib(os.totalmem())} RAM), ${N} idle sandboxes\n`);
  console.log(
    table(
      ['what', 'per container (cgroup, p50)', 'per container (host MemAvailable drop)'],
      [
        ['raw engine: debian sleep', mib(rawCgroup.p50), mib(rawHost)],
        ['Berth idle sandbox', mib(perCgroup.p50), mib(perHost)],
        ['ratio sandbox / raw', fmt(perCgroup.p50 / rawCgroup.p50, 1) + '×', fmt(perHost / Math.max(rawHost, 1), 1) + '×'],
      ],
    ),
  );
  console.log(`\nidle sandboxes this machine holds by memory use: ${Math.floor(availBefore / perHost)} (MemAvailable ${mib(availBefore)} / ${mib(perHost)})`);
  console.log(`running sandboxes allowed by default: ${defaultMaxSandboxes(limitBytes)} (BERTH_MAX_SANDBOXES=auto: memory limits of ${mib(limitBytes)} beside a host reserve)`);
  console.log(`resume after idle stop (data kept): p50 ${resume.p50} ms, max ${resume.max} ms (${resumes.length} learners)`);
  console.log(`server RSS: ${mib(process.memoryUsage().rss)}`);
} finally {
  await berth.destroy();
}
