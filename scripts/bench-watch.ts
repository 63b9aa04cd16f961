/**
 * npm run bench:watch: what watching a learner's terminal costs and how late the
 * watcher sees the output. One real sandbox; its scrollback ring is filled first
 * (the largest replay a watcher can get).
 *
 * - delay: the same output line's arrival at the learner's socket and at a watcher's
 *   (both clients in this process), and from the learner's Enter to the watcher;
 * - memory: the server's heap + buffers after `--watchers` views of the terminal are
 *   open (and got their replay) minus before, per view, and after they all closed
 *   (idle memory stays flat: nothing is kept per watched terminal). The clients run
 *   in this process too and discard what they get, so this is an upper bound.
 */
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { WATCH_PATH } from '../sandbox-server/src/protocol.ts';
import { handleOf } from '../sandbox-server/src/identity.ts';
import { newLearner, startTestBerth, testConfig } from '../tests/helpers/berth.ts';
import { TestTerminal } from '../tests/helpers/terminal-client.ts';
import { TestWatcher } from '../tests/helpers/watch-client.ts';
import { writeLessons } from '../tests/helpers/lessons.ts';
import { newInstructor, post } from '../tests/helpers/classroom.ts';
import { fmt, summarize, table } from './lib/bench-stats.ts';
import { log } from './lib/run.ts';

const { values: opt } = parseArgs({ options: { runs: { type: 'string', default: '50' }, watchers: { type: 'string', default: '20' } }, strict: true });
const runs = Math.min(500, Math.max(5, Number(opt.runs) || 50));
// One instructor may have 10 views open (classroom/watch.ts): this many instructors share the views.
const views = Math.min(100, Math.max(1, Number(opt.watchers) || 20));
const instructors = Math.ceil(views / 10);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) log('bench:watch', 'run with node --expose-gc for steadier memory figures');

const LESSON = 'exercises:\n  - id: x\n    title: { ko: x, en: x }\n    checks:\n      - type: file_contains\n        path: x\n        contains: x\n    solution: "true"\n    near_miss: "true"\n';
const berth = await startTestBerth(testConfig({ BERTH_CONTENT_DIR: writeLessons({ '96-bench': LESSON }) }));
const used = async () => {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};
let term: TestTerminal | undefined;
try {
  const cookie = await newLearner(berth);
  const learner = handleOf(cookie.split('=')[1]!);
  // Real instructors (the operator's command, the login link), each with a class the learner joined.
  const teachers: string[] = [];
  for (let i = 0; i < instructors; i++) {
    const who = await newInstructor(berth, `bench${i}`);
    const made = (await (await who.post('/api/teach/classes', { name: `Bench ${i}`, lessons: ['96-bench'] })).json()) as { code: string };
    await post(berth, `/api/join/${made.code}`, { name: `learner` }, { Cookie: cookie });
    teachers.push(who.cookie);
  }
  term = new TestTerminal(berth.origin, { cookie, hello: { cols: 120, rows: 40, lesson: '96-bench', lang: 'en' } });
  await term.waitForState('ready', 90_000);
  const t = term;
  await t.run('for i in $(seq 1 3000); do echo "line $i: drwxr-xr-x 2 learner learner 4096 Dec  1 16:00 some-directory-$i"; done');
  t.clearOutput();

  // Delay: one watcher, `runs` lines.
  const w = new TestWatcher(berth.origin, learner, { cookie: teachers[0]! });
  await w.opened;
  await w.until(() => w.messages.length > 0, 5000, 'watching');
  const learnerAt = new Map<number, number>();
  t.ws.on('message', (data: Buffer, isBinary) => {
    if (!isBinary) return;
    for (const m of data.toString().matchAll(/tick-(\d+)-out/g)) if (!learnerAt.has(Number(m[1]))) learnerAt.set(Number(m[1]), performance.now());
  });
  const fanOut: number[] = [];
  const fromEnter: number[] = [];
  for (let i = 0; i < runs; i++) {
    const before = w.frames.length;
    const sent = performance.now();
    t.send(`echo tick-$((${i}))-out\r`);
    const pattern = new RegExp(`tick-${i}-out`);
    await w.until(() => w.frames.slice(before).some((f) => pattern.test(f.data.toString())), 10_000, `tick ${i}`);
    const at = w.frames.slice(before).find((f) => pattern.test(f.data.toString()))!.at;
    await t.until(() => learnerAt.has(i), 10_000, `learner tick ${i}`);
    fanOut.push(at - learnerAt.get(i)!);
    fromEnter.push(at - sent);
    await new Promise((r) => setTimeout(r, 20));
  }
  w.close();

  // Memory: `views` watchers of the one terminal, each replayed the full ring. Two rounds:
  // the first also pays one-off costs (compiled code, grown tables); the second is the figure.
  const ringBytes = berth.manager.screen(learner)!.scrollback.length;
  const round = async () => {
    await new Promise((r) => setTimeout(r, 500));
    const base = await used();
    const sockets: WebSocket[] = [];
    let replayed = 0;
    for (let i = 0; i < views; i++) {
      const ws = new WebSocket(`${berth.origin.replace(/^http/, 'ws')}${WATCH_PATH}?learner=${learner}`, { headers: { Cookie: teachers[i % instructors]! }, origin: berth.origin });
      let got = 0;
      ws.on('message', (data: Buffer, isBinary) => {
        if (isBinary && (got += data.length) >= ringBytes && got - data.length < ringBytes) replayed++;
      });
      sockets.push(ws);
    }
    const deadline = Date.now() + 30_000;
    while (replayed < views && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    const open = await used();
    for (const ws of sockets) ws.close();
    sockets.length = 0; // the clients' own memory goes too
    while (berth.classroom.watch.connections > 0 && Date.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 1000));
    const closed = await used();
    return { replayed, perView: (open - base) / views, after: closed - base };
  };
  const first = await round();
  const second = await round();

  const f = summarize(fanOut);
  const e = summarize(fromEnter);
  console.log(`\nWatching a terminal (${f.n} lines; scrollback ring ${(ringBytes / 1024).toFixed(0)} KiB)\n`);
  console.log(
    table(
      ['delay', 'p50 ms', 'p90 ms', 'max ms'],
      [
        ['learner socket -> watcher socket (same output)', fmt(f.p50, 2), fmt(f.p90, 2), fmt(f.max, 2)],
        ['learner Enter -> watcher socket (via the shell)', fmt(e.p50, 1), fmt(e.p90, 1), fmt(e.max, 1)],
      ],
    ),
  );
  const kib = (n: number) => `${n >= 0 ? '+' : ''}${(n / 1024).toFixed(0)} KiB`;
  console.log(`\n${views} views open at once (server and clients in this process: an upper bound), rounds 1 / 2:`);
  console.log(`  per view while open: ${kib(first.perView)} / ${kib(second.perView)}  (${first.replayed} / ${second.replayed} got the full replay)`);
  console.log(`  all of them, after they closed: ${kib(first.after)} / ${kib(second.after)} against before the round`);
} finally {
  term?.close();
  await berth.destroy();
}
