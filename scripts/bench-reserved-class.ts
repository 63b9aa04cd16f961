/**
 * npm run bench:reserved-class [-- --learners 30 --images nginx]: a class whose
 * learners all join at the same moment (nine o'clock), with and without reserved
 * sandboxes, on real sandboxes of this machine. For each mode a fresh server
 * (private instance, no ordinary warm pool, rate limits sized for one class behind
 * one address): the instructor creates the class (reserved: count = learners, the
 * images pulled ahead, and the clock waits until every reserved sandbox is booted),
 * then every learner joins through the real join route and opens a terminal at once;
 * the time from the join to the prompt ("ready") is taken per learner. "cold" is the
 * raw baseline of the same run: the same burst with nothing booted ahead.
 */
import { parseArgs } from 'node:util';
import { startTestBerth, testConfig } from '../tests/helpers/berth.ts';
import { TestTerminal } from '../tests/helpers/terminal-client.ts';
import { noteLesson, writeLessons } from '../tests/helpers/lessons.ts';
import { newInstructor, post } from '../tests/helpers/classroom.ts';
import { fmt, percentile, table } from './lib/bench-stats.ts';
import { log } from './lib/run.ts';

const { values: opt } = parseArgs({
  options: { learners: { type: 'string', default: '30' }, images: { type: 'string', default: '' }, modes: { type: 'string', default: 'cold,reserved' } },
  strict: true,
});
const learners = Math.min(100, Math.max(1, Number(opt.learners) || 30));
const images = opt.images.split(',').map((i) => i.trim()).filter(Boolean);
const modes = opt.modes.split(',').filter((m): m is 'cold' | 'reserved' => m === 'cold' || m === 'reserved');
const content = writeLessons({ '80-note': noteLesson() });

interface Result {
  mode: string;
  warmupMs?: number;
  prompt: number[];
}

async function burst(mode: 'cold' | 'reserved'): Promise<Result> {
  const slots = String(learners + 2);
  const berth = await startTestBerth(
    testConfig({
      BERTH_CONTENT_DIR: content,
      BERTH_WARM_POOL: '0',
      BERTH_MAX_SANDBOXES: slots,
      BERTH_SANDBOXES_PER_ADDRESS: slots,
      BERTH_RATE_SANDBOXES: 'off',
      BERTH_RATE_SESSIONS: 'off',
      BERTH_RATE_API: 'off',
      BERTH_LOG_LEVEL: 'error',
    }),
  );
  const terms: TestTerminal[] = [];
  try {
    const kim = await newInstructor(berth, 'bench');
    const now = Date.now();
    const body = { name: 'nine', lessons: ['80-note'], startsAt: now + 60_000, endsAt: now + 3_600_000, ...(mode === 'reserved' ? { reserve: { count: learners, images } } : {}) };
    const made = await kim.post('/api/teach/classes', body);
    if (made.status !== 201) throw new Error(`class: ${made.status} ${await made.text()}`);
    const { id, code } = (await made.json()) as { id: string; code: string };
    let warmupMs: number | undefined;
    if (mode === 'reserved') {
      const began = Date.now();
      for (;;) {
        const r = ((await (await kim.get(`/api/teach/classes/${id}`)).json()) as { reservation: { ready: number } }).reservation;
        if (r.ready >= learners) break;
        if (Date.now() - began > 20 * 60_000) throw new Error(`only ${r.ready} of ${learners} reserved sandboxes after 20 min`);
        await new Promise((res) => setTimeout(res, 500));
      }
      warmupMs = Date.now() - began;
      log('bench', `${mode}: ${learners} reserved sandboxes ready ${fmt(warmupMs)} ms after the class was created`);
    }
    const prompt = await Promise.all(
      Array.from({ length: learners }, async (_, i) => {
        const began = Date.now();
        const joined = await post(berth, `/api/join/${code}`, { name: `learner ${i + 1}` });
        if (joined.status !== 200) throw new Error(`join: ${joined.status}`);
        const cookie = joined.headers.get('set-cookie')!.split(';')[0]!;
        const term = new TestTerminal(berth.origin, { cookie, hello: { cols: 100, rows: 30, lesson: '80-note', lang: 'en' } });
        terms.push(term);
        await term.waitForState('ready', 15 * 60_000);
        return Date.now() - began;
      }),
    );
    return { mode, warmupMs, prompt };
  } finally {
    for (const t of terms) t.close();
    await berth.destroy();
  }
}

const results: Result[] = [];
for (const mode of modes) {
  log('bench', `${mode}: ${learners} learners join at once${mode === 'reserved' && images.length ? ` (images pulled ahead: ${images.join(', ')})` : ''}`);
  results.push(await burst(mode));
}
const cold = results.find((r) => r.mode === 'cold');
console.log(
  table(
    ['join -> prompt (ms)', 'p50', 'p95', 'max', 'p95 vs cold'],
    results.map((r) => {
      const sorted = [...r.prompt].sort((a, b) => a - b);
      const p95 = percentile(sorted, 0.95);
      const coldP95 = cold && percentile([...cold.prompt].sort((a, b) => a - b), 0.95);
      return [`${r.mode}${r.warmupMs !== undefined ? ` (warm-up ${fmt(r.warmupMs)} ms)` : ''}`, fmt(percentile(sorted, 0.5)), fmt(p95), fmt(sorted.at(-1)!), coldP95 ? `${(p95 / coldP95).toFixed(2)}x` : '-'];
    }),
  ),
);
