/**
 * npm run bench:arrivals [-- --burst 4,10] [--pool 0,auto] [--rounds 2] [--json FILE]
 *
 * Learners arriving together, as a class does, against a real Berth started in this
 * process (private instance). For each warm-pool setting (BERTH_WARM_POOL: 0 is the raw
 * baseline, every learner a cold start) and each burst size N, a fresh server waits for
 * its pool to fill, then N new learners at the same moment: GET /api/session, open the
 * terminal, and time
 *   - prompt: from the session request to the shell running a first command (`true`);
 *   - first docker: from then to the answer of their first `docker info` in that shell.
 * With --rounds 2 a second burst follows once the pool has refilled: what the next
 * group of a class meets after the pool sized itself from the first one.
 * Ratios are against the cold baseline (pool 0) of the same burst size in this run.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { log } from './lib/run.ts';
import { fmt, percentile, table } from './lib/bench-stats.ts';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../tests/helpers/berth.ts';
import { TestTerminal } from '../tests/helpers/terminal-client.ts';

const { values } = parseArgs({
  options: {
    burst: { type: 'string', default: '4,10' },
    pool: { type: 'string', default: '0,2,auto' },
    rounds: { type: 'string', default: '2' },
    json: { type: 'string' },
  },
});
const bursts = values.burst.split(',').map(Number);
const pools = values.pool.split(',');
const rounds = Math.max(1, Math.min(5, Number(values.rounds)));
if (bursts.some((n) => !Number.isInteger(n) || n < 1 || n > 30)) throw new Error('--burst: integers from 1 to 30');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One learner's arrival: session, terminal, prompt, then `docker info`. */
async function arrive(berth: TestBerth): Promise<{ promptMs: number; dockerMs: number }> {
  const t0 = performance.now();
  const cookie = await newLearner(berth);
  const term = new TestTerminal(berth.origin, { cookie });
  try {
    await term.waitForState('ready', 120_000);
    // A usable prompt: the shell ran what was typed (the first command's marker came back).
    await term.run('true', 120_000);
    const promptMs = performance.now() - t0;
    const t1 = performance.now();
    const out = await term.run('docker info --format "{{.ServerVersion}}"', 120_000);
    if (!/\d+\.\d+/.test(out)) throw new Error(`docker info answered ${JSON.stringify(out.slice(-200))}`);
    return { promptMs, dockerMs: performance.now() - t1 };
  } finally {
    term.close();
  }
}

async function waitForPool(berth: TestBerth, timeoutMs = 180_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  // Settled: the pool stopped growing (its target reached) and every member is booted.
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const { total, ready } = berth.manager.poolSize();
    if (total !== last) {
      last = total;
      stableSince = Date.now();
    }
    if (ready === total && Date.now() - stableSince > 3000) return ready;
    if (Date.now() > deadline) return ready;
    await sleep(250);
  }
}

interface Row {
  pool: string;
  burst: number;
  round: number;
  warm: number;
  prompt: number[];
  docker: number[];
}
/** Nearest-rank p50 and p95 (with fewer than 20 samples, p95 is the slowest). */
const p = (xs: number[], q: number) => percentile([...xs].sort((a, b) => a - b), q);
const rows: Row[] = [];
log('bench', `${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)}; bursts ${bursts.join(', ')}; pools ${pools.join(', ')}; ${rounds} round(s)`);
for (const burst of bursts) {
  for (const pool of pools) {
    const berth = await startTestBerth(
      testConfig({ BERTH_WARM_POOL: pool, BERTH_MAX_SANDBOXES: String(burst * rounds + 12), BERTH_SANDBOXES_PER_ADDRESS: String(burst * rounds + 12), BERTH_LOG_LEVEL: 'error' }),
    );
    try {
      for (let round = 1; round <= rounds; round++) {
        const warm = pool === '0' ? 0 : await waitForPool(berth);
        await sleep(2000); // let the last pool boot's engine settle
        log('bench', `pool ${pool}, burst ${burst}, round ${round}: ${warm} warm sandboxes`);
        const results = await Promise.all(Array.from({ length: burst }, () => arrive(berth)));
        const row = { pool, burst, round, warm, prompt: results.map((r) => r.promptMs), docker: results.map((r) => r.dockerMs) };
        rows.push(row);
        log('bench', `  prompt p50 ${fmt(p(row.prompt, 0.5))} p95 ${fmt(p(row.prompt, 0.95))} ms; first docker info p50 ${fmt(p(row.docker, 0.5))} p95 ${fmt(p(row.docker, 0.95))} ms`);
      }
    } finally {
      await berth.destroy();
    }
  }
}

const cold = (burst: number, round: number) => rows.find((r) => r.pool === '0' && r.burst === burst && r.round === round);
console.log(
  table(
    ['pool', 'learners', 'round', 'warm', 'prompt p50 ms', 'prompt p95 ms', 'vs cold', 'docker info p50 ms', 'docker info p95 ms'],
    rows.map((r) => {
      const base = cold(r.burst, r.round);
      const ratio = base ? `${(p(r.prompt, 0.95) / p(base.prompt, 0.95)).toFixed(2)}x` : '-';
      return [r.pool, String(r.burst), String(r.round), String(r.warm), fmt(p(r.prompt, 0.5)), fmt(p(r.prompt, 0.95)), ratio, fmt(p(r.docker, 0.5)), fmt(p(r.docker, 0.95))];
    }),
  ),
);
if (values.json) writeFileSync(values.json, JSON.stringify(rows, null, 2));
