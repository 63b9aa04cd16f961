/**
 * npm run bench:class [-- --learners 60 --events 300 --rate 20 --viewers 1]: the class
 * grid under load. Learners join through the real HTTP join route; the instructor's
 * grid streams (Server-Sent Events) are read over real HTTP. Progress is simulated at
 * the server's progress-event layer, without sandboxes: each event records a pass or
 * an attempt in the store and publishes the checker's own progressOf() on the bus,
 * which is what a check run does after it records its results (exercises/live.ts
 * broadcast). Prints join times, publish -> grid row latency (p50/p95/max), and the
 * server process's CPU and memory while the events flow. Client and server share
 * this process, so latency includes reading the stream.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { startTestBerth, testConfig } from '../tests/helpers/berth.ts';
import { writeLessons } from '../tests/helpers/lessons.ts';
import { newInstructor, openStream, post } from '../tests/helpers/classroom.ts';
import { handleOf } from '../sandbox-server/src/identity.ts';
import type { GridMessage } from '../sandbox-server/src/protocol.ts';
import { fmt, percentile, summarize, table } from './lib/bench-stats.ts';
import { log } from './lib/run.ts';

const { values: opt } = parseArgs({
  options: { learners: { type: 'string', default: '60' }, events: { type: 'string', default: '300' }, rate: { type: 'string', default: '20' }, viewers: { type: 'string', default: '1' } },
  strict: true,
});
const learners = Math.min(500, Math.max(1, Number(opt.learners) || 60));
const events = Math.min(10_000, Math.max(10, Number(opt.events) || 300));
const rate = Math.min(1000, Math.max(1, Number(opt.rate) || 20));
const viewers = Math.min(10, Math.max(1, Number(opt.viewers) || 1));

const lesson = (slug: string, n: number) =>
  `exercises:\n${Array.from({ length: n }, (_, i) => `  - id: ${slug}-${i}\n    title: { ko: 과제 ${i}, en: Task ${i} }\n    checks:\n      - type: file_exists\n        path: f${i}\n    solution: touch ~/f${i}\n    near_miss: "true"\n`).join('')}`;
const content = writeLessons({ '70-a': lesson('a', 5), '71-b': lesson('b', 5) });
const berth = await startTestBerth(testConfig({ BERTH_REGISTRY: 'off', BERTH_CONTENT_DIR: content, BERTH_RATE_API: 'off' }));
try {
  const kim = await newInstructor(berth, 'bench');
  const { id, code } = (await (await kim.post('/api/teach/classes', { name: 'bench', lessons: ['70-a', '71-b'] })).json()) as { id: string; code: string };
  const joinMs: number[] = [];
  const handles: string[] = [];
  for (let i = 0; i < learners; i++) {
    const t = performance.now();
    const res = await post(berth, `/api/join/${code}`, { name: `Learner ${i}` });
    joinMs.push(performance.now() - t);
    handles.push(handleOf(res.headers.get('set-cookie')!.split(';')[0]!.split('=')[1]!));
  }
  const streams = await Promise.all(Array.from({ length: viewers }, () => openStream<GridMessage>(`${berth.origin}/api/teach/classes/${id}/events`, kim.cookie)));
  await Promise.all(streams.map((s) => s.until(() => s.messages.some((m) => m.t === 'snapshot'), 'the snapshot')));
  log('bench:class', `${learners} learners joined; ${viewers} grid stream(s) open; ${events} progress events at ${rate}/s`);

  const latency: number[] = [];
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  let rss = 0;
  for (let e = 0; e < events; e++) {
    const learner = handles[e % handles.length]!;
    const slug = e % 2 ? '71-b' : '70-a';
    const exercise = `${slug === '70-a' ? 'a' : 'b'}-${Math.floor(e / handles.length) % 5}`;
    if (e % 3) berth.store.markPassed(learner, slug, exercise);
    else berth.store.addAttempt(learner, slug, exercise);
    const seen = streams.map((s) => s.messages.length);
    const t = performance.now();
    berth.classroom.bus.publish(berth.checker.progressOf(learner, slug));
    await Promise.all(streams.map((s, i) => s.until(() => s.messages.slice(seen[i]).some((m) => m.t === 'row' && m.row.learner === learner), 'the row', 10_000)));
    latency.push(performance.now() - t);
    rss = Math.max(rss, process.memoryUsage().rss);
    const due = wall0 + ((e + 1) * 1000) / rate;
    if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
  }
  const wall = performance.now() - wall0;
  const cpu = process.cpuUsage(cpu0);
  for (const s of streams) s.close();

  const j = summarize(joinMs);
  const l = summarize(latency);
  console.log(
    table(
      ['', 'p50 ms', 'p95 ms', 'max ms'],
      [
        [`join (POST /api/join, ${learners} in a row)`, fmt(j.p50, 1), fmt(percentile([...joinMs].sort((a, b) => a - b), 0.95), 1), fmt(j.max, 1)],
        [`progress event -> grid row (${viewers} stream(s))`, fmt(l.p50, 1), fmt(percentile([...latency].sort((a, b) => a - b), 0.95), 1), fmt(l.max, 1)],
      ],
    ),
  );
  console.log(`process CPU while events flowed: ${fmt(((cpu.user + cpu.system) / 1000 / wall) * 100, 1)}% of one core over ${fmt(wall / 1000, 1)} s; peak RSS ${fmt(rss / 1024 / 1024)} MiB`);
} finally {
  await berth.destroy();
}
