/**
 * The live checker's honesty rules with a stand-in runtime (the real sandbox runs
 * are in tests/integration/exercise-truth.test.ts): neutral until tried, a try
 * remembered across checkers, "keeps running" asked again after its window, and
 * the success note after a reset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { ExerciseState, ServerMessage } from '../protocol.ts';
import type { SandboxRuntime } from '../runtime/types.ts';
import { Store } from '../store.ts';
import { ExerciseChecker } from './live.ts';
import { ExerciseFile } from './schema.ts';

const FILE = ExerciseFile.parse({
  exercises: [
    {
      id: 'first-container',
      title: { ko: 'ㄱ', en: 'a' },
      checks: [{ type: 'container_running', name: 'first-hello' }],
      solution: 'docker run -d --name first-hello busybox sleep 3600',
      near_miss: 'docker run --name first_hello busybox',
      success: { ko: '돌고 있어요', en: 'first-hello is running' },
    },
  ],
});

/** What the sandbox "says" to a run: the check's exit code and the container names. */
function fakeRuntime(now: { rc: number; names: string }) {
  let execs = 0;
  const runtime = {
    exec: async () => {
      execs++;
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      return { exitCode: 0, stdout: `@@berth-check 0.0 ${now.rc} ${b64('x')}\n@@berth-extra containers ${b64(now.names)}\n@@berth-check end\n`, stderr: '' };
    },
    watchEvents: async () => () => {},
  } as unknown as SandboxRuntime;
  return { runtime, execs: () => execs };
}

function setup(store: Store, now: { rc: number; names: string }) {
  const fake = fakeRuntime(now);
  const checker = new ExerciseChecker({ runtime: fake.runtime, store, log: pino({ level: 'silent' }), lessons: new Map([['l', FILE]]) });
  const messages: ServerMessage[] = [];
  const sub = { lesson: 'l', lang: 'en' as const, sendMessage: (m: ServerMessage) => messages.push(m) };
  /** The exercise as the last message after a run (not during one) showed it. */
  const state = (): ExerciseState | undefined => {
    const last = messages.findLast((m): m is Extract<ServerMessage, { t: 'exercises' }> => m.t === 'exercises' && !m.checking);
    return last?.items[0];
  };
  return { checker, sub, state, execs: fake.execs };
}

async function until(what: string, predicate: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('neutral until the first try; a changed result is a try, and it is remembered', async () => {
  const store = new Store(':memory:');
  const now = { rc: 1, names: '' };
  const a = setup(store, now);
  a.checker.subscribe('L', a.sub);
  a.checker.sandboxReady('L', 'c1');
  await until('a first run', () => a.execs() === 1 && a.state() !== undefined);
  a.checker.trigger('L', 'prompt');
  await until('a second run', () => a.execs() === 2);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(a.state()!.status, 'pending', 'checked twice, nothing tried: neutral');
  assert.equal(a.state()!.feedback, undefined);

  now.names = 'first_hello\n'; // the near miss: the same failure, a new cause seen
  a.checker.trigger('L', 'prompt');
  await until('feedback', () => a.state()?.status === 'failing');
  assert.match(a.state()!.feedback!, /did you mean 'first-hello'/);
  a.checker.close();

  const b = setup(store, { rc: 1, names: '' }); // a reload, a restarted server
  b.checker.subscribe('L', b.sub);
  b.checker.sandboxReady('L', 'c1');
  await until('a run', () => b.state()?.status === 'failing');
  b.checker.close();
  store.close();
});

test('a Check press counts as a try', async () => {
  const store = new Store(':memory:');
  const a = setup(store, { rc: 1, names: '' });
  a.checker.subscribe('L', a.sub);
  a.checker.sandboxReady('L', 'c1');
  await until('a first run', () => a.execs() === 1 && a.state() !== undefined);
  assert.equal(a.state()!.status, 'pending');
  a.checker.trigger('L', 'check');
  await until('the verdict', () => a.state()?.status === 'failing');
  assert.equal(a.state()!.attempts, 1);
  a.checker.close();
  store.close();
});

test('a just-started container is asked about again after the window, with no trigger', async () => {
  const store = new Store(':memory:');
  const now = { rc: 1, names: '' };
  const a = setup(store, now);
  a.checker.subscribe('L', a.sub);
  a.checker.sandboxReady('L', 'c1');
  await until('a first run', () => a.execs() === 1);
  now.rc = 75;
  a.checker.trigger('L', 'event');
  await until('the young run', () => a.execs() === 2 && a.state()?.status === 'pending');
  assert.match(a.state()!.feedback ?? '', /keeps running/, 'a tried exercise says what it waits for');
  now.rc = 0;
  const began = Date.now();
  await until('the re-run', () => a.state()?.status === 'passed', 4000);
  assert.ok(Date.now() - began >= 1500, 'not before the window');
  assert.equal(a.state()!.success, 'first-hello is running');
  a.checker.close();
  store.close();
});

test('after a reset a pass is kept, and its note is not shown as the new state', async () => {
  const store = new Store(':memory:');
  const now = { rc: 0, names: '' };
  const a = setup(store, now);
  a.checker.subscribe('L', a.sub);
  a.checker.sandboxReady('L', 'c1');
  await until('the pass', () => a.state()?.status === 'passed');
  assert.equal(a.state()!.success, 'first-hello is running');
  now.rc = 1;
  a.checker.sandboxDown('L');
  a.checker.sandboxReady('L', 'c2'); // a new container: the sandbox was reset
  await until('the new sandbox checked', () => a.execs() === 2 && /does not have it/.test(a.state()?.success ?? ''));
  assert.equal(a.state()!.status, 'passed', 'progress is kept');
  a.checker.close();
  store.close();
});
