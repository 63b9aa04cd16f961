import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TerminalSession, chunkBytes, type SessionTerminal } from './terminal-session.ts';
import { CLIENT_HIGH_WATER_BYTES, CloseCode, parseClientMessage } from '../../sandbox-server/src/protocol.ts';

type Listener<T> = (v: T) => void;
function emitter<T>() {
  const fns = new Set<Listener<T>>();
  return {
    event: (fn: Listener<T>) => {
      fns.add(fn);
      return { dispose: () => fns.delete(fn) };
    },
    fire: (v: T) => fns.forEach((f) => f(v)),
    size: () => fns.size,
  };
}

function fakeTerminal() {
  const data = emitter<string>();
  const binary = emitter<string>();
  const resize = emitter<{ cols: number; rows: number }>();
  const writes: { bytes: number; done: () => void }[] = [];
  let resets = 0;
  const term = {
    cols: 80,
    rows: 24,
    write: (d: string | Uint8Array, cb?: () => void) => {
      writes.push({ bytes: typeof d === 'string' ? d.length : d.length, done: cb ?? (() => {}) });
    },
    reset: () => void resets++,
    onData: data.event,
    onBinary: binary.event,
    onResize: resize.event,
  } as unknown as SessionTerminal;
  return { term, data, resize, writes, resets: () => resets, listeners: () => data.size() + binary.size() + resize.size() };
}

class FakeSocket {
  static all: FakeSocket[] = [];
  readyState = 0;
  binaryType = 'blob';
  sent: (string | Uint8Array)[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  readonly url: string;
  constructor(url: string) {
    this.url = url;
    FakeSocket.all.push(this);
  }
  send(d: string | Uint8Array) {
    this.sent.push(d);
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  text(msg: object) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  bytes(n: number) {
    this.onmessage?.({ data: new ArrayBuffer(n) });
  }
  drop(code: number, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  json() {
    return this.sent.filter((s): s is string => typeof s === 'string').map((s) => JSON.parse(s));
  }
}

const okFetch = (async () =>
  new Response(JSON.stringify({ learner: 'otter', sandbox: null }), { status: 200 })) as typeof fetch;
const tick = () => new Promise((r) => setTimeout(r, 0));

function setup(opts: { fetch?: typeof fetch; maxAttempts?: number } = {}) {
  FakeSocket.all = [];
  const t = fakeTerminal();
  const session = new TerminalSession(t.term, {
    socketUrl: 'ws://x/ws/terminal',
    fetch: opts.fetch ?? okFetch,
    WebSocket: FakeSocket as unknown as typeof WebSocket,
    backoffMs: () => 1,
    maxAttempts: opts.maxAttempts ?? 3,
  });
  return { session, ...t };
}

test('fetches the session, then says hello with the terminal size', async () => {
  const { session } = setup();
  session.start();
  await tick();
  const ws = FakeSocket.all[0]!;
  assert.equal(ws.binaryType, 'arraybuffer');
  ws.open();
  assert.deepEqual(ws.json()[0], { t: 'hello', cols: 80, rows: 24 });
  assert.equal(session.snapshot.learner, 'otter');
  session.dispose();
});

test('keystrokes go out as UTF-8 binary; resize as one debounced message', async () => {
  const t = setup();
  const { session, data, resize } = t;
  session.start();
  await tick();
  const ws = FakeSocket.all[0]!;
  ws.open();
  data.fire('한\x03');
  const bin = ws.sent.find((s) => typeof s !== 'string') as Uint8Array;
  assert.deepEqual([...bin], [...new TextEncoder().encode('한\x03')]);
  (t.term as { cols: number }).cols = 100;
  (t.term as { rows: number }).rows = 30;
  resize.fire({ cols: 90, rows: 30 });
  resize.fire({ cols: 100, rows: 30 });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(ws.json().filter((m) => m.t === 'resize').length, 1);
  assert.deepEqual(ws.json().at(-1), { t: 'resize', cols: 100, rows: 30 });
  session.dispose();
});

test('status messages drive the state; Run waits for ready', async () => {
  const { session } = setup();
  const states: string[] = [];
  session.subscribe((s) => {
    if (states.at(-1) !== s.state) states.push(s.state);
  });
  session.start();
  await tick();
  const ws = FakeSocket.all[0]!;
  ws.open();
  ws.text({ t: 'status', state: 'creating' });
  assert.equal(session.run('docker version'), 'queued');
  ws.text({ t: 'status', state: 'starting', message: 'engine' });
  ws.text({ t: 'status', state: 'ready', idleStopAt: 123 });
  assert.equal(session.snapshot.idleStopAt, 123);
  const bin = ws.sent.filter((s) => typeof s !== 'string') as Uint8Array[];
  assert.equal(new TextDecoder().decode(bin[0]), '\x05\x15docker version\r', 'the input line is cleared first (Ctrl+E Ctrl+U)');
  assert.equal(session.run('whoami\nid -u\n'), 'sent');
  const last = ws.sent.at(-1) as Uint8Array;
  assert.equal(new TextDecoder().decode(last), '\x05\x15whoami\rid -u\r');
  assert.deepEqual(states.slice(0, 4), ['connecting', 'creating', 'starting', 'ready']);
  session.dispose();
});

test('flow control: pause above the high mark, resume below the low mark', async () => {
  const { session, writes } = setup();
  session.start();
  await tick();
  const ws = FakeSocket.all[0]!;
  ws.open();
  const chunk = 64 * 1024;
  const n = Math.ceil(CLIENT_HIGH_WATER_BYTES / chunk) + 1;
  for (let i = 0; i < n; i++) ws.bytes(chunk);
  assert.equal(ws.json().filter((m) => m.t === 'pause').length, 1);
  for (const w of writes.splice(0)) w.done();
  assert.equal(ws.json().filter((m) => m.t === 'resume').length, 1);
  session.dispose();
});

test('replay resets the screen first', async () => {
  const { session, resets } = setup();
  session.start();
  await tick();
  const ws = FakeSocket.all[0]!;
  ws.open();
  ws.text({ t: 'replay', bytes: 10 });
  assert.equal(resets(), 1);
  session.dispose();
});

test('reconnects after an unexpected close, but not after 4000 BadMessage', async () => {
  const { session } = setup();
  session.start();
  await tick();
  FakeSocket.all[0]!.open();
  FakeSocket.all[0]!.drop(1006);
  assert.equal(session.snapshot.state, 'disconnected');
  assert.equal(session.snapshot.reconnectAttempt, 1);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(FakeSocket.all.length, 2);
  FakeSocket.all[1]!.open();
  FakeSocket.all[1]!.drop(CloseCode.BadMessage, 'bad');
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(FakeSocket.all.length, 2);
  assert.equal(session.snapshot.state, 'disconnected');
  assert.equal(session.snapshot.reason, 'bad-message');
  session.dispose();
});

test('gives up after maxAttempts when the server is unreachable; Retry starts over', async () => {
  let calls = 0;
  const failing = (async () => {
    calls++;
    throw new TypeError('fetch failed');
  }) as typeof fetch;
  const { session } = setup({ fetch: failing, maxAttempts: 2 });
  session.start();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(calls, 3);
  assert.equal(session.snapshot.state, 'disconnected');
  assert.equal(session.snapshot.reason, 'no-server');
  assert.equal(session.snapshot.reconnectAt, undefined);
  session.retry();
  await tick();
  assert.equal(calls, 4);
  session.dispose();
});

test('4011 shows failed with the reason and does not reconnect', async () => {
  const { session } = setup();
  session.start();
  await tick();
  FakeSocket.all[0]!.open();
  FakeSocket.all[0]!.drop(CloseCode.SandboxFailed, 'no space left');
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(session.snapshot.state, 'failed');
  assert.equal(session.snapshot.message, 'no space left');
  assert.equal(FakeSocket.all.length, 1);
  session.dispose();
});

test('reset sends reset and clears the screen', async () => {
  const { session, resets } = setup();
  session.start();
  await tick();
  const ws = FakeSocket.all[0]!;
  ws.open();
  ws.text({ t: 'status', state: 'ready' });
  session.reset();
  assert.deepEqual(ws.json().at(-1), { t: 'reset' });
  assert.equal(resets(), 1);
  assert.equal(session.snapshot.state, 'creating');
  session.dispose();
});

test('dispose removes every listener', async () => {
  const { session, listeners } = setup();
  assert.equal(listeners(), 3);
  session.dispose();
  assert.equal(listeners(), 0);
});

test('big input is split below the frame limit', () => {
  const parts = chunkBytes(new Uint8Array(100_000));
  assert.ok(parts.length >= 3);
  assert.equal(parts.reduce((n, p) => n + p.length, 0), 100_000);
});

test('lesson pages say which lesson and language; exercise messages reach listeners; check/hint/solution/quiz go out', async () => {
  FakeSocket.all = [];
  const t = fakeTerminal();
  const session = new TerminalSession(t.term, {
    socketUrl: 'ws://x/ws/terminal',
    fetch: okFetch,
    WebSocket: FakeSocket as unknown as typeof WebSocket,
    backoffMs: () => 1,
    lesson: '00-welcome',
    lang: 'en',
  });
  assert.equal(session.check(), false, 'nothing is sent before the socket opens');
  const got: unknown[] = [];
  session.onExercises((m) => got.push(m));
  session.start();
  await tick();
  const ws = FakeSocket.all[0]!;
  ws.open();
  assert.deepEqual(ws.json()[0], { t: 'hello', cols: 80, rows: 24, lesson: '00-welcome', lang: 'en' });

  const item = { id: 'first', status: 'failing', feedback: 'no', attempts: 1, hintsUsed: 0, hintsTotal: 2, hints: [], canRevealSolution: false };
  ws.text({ t: 'exercises', lesson: '00-welcome', graded: false, checking: false, items: [item] });
  ws.text({ t: 'exercises', lesson: '99-other', graded: false, checking: false, items: [] });
  ws.text({ t: 'exercises', lesson: '00-welcome', graded: false, checking: false, items: [{ ...item, status: 'bogus' }] });
  assert.equal(got.length, 1, 'another lesson and an invalid message are ignored');
  assert.equal(session.exercises?.items[0]?.status, 'failing');
  const late: unknown[] = [];
  session.onExercises((m) => late.push(m));
  assert.equal(late.length, 1, 'a late listener gets the last state at once');

  assert.equal(session.check(), true);
  assert.equal(session.hint('first'), true);
  assert.equal(session.solution('first'), true);
  assert.equal(session.quiz('basics', [[1], [0, 2]]), true);
  assert.deepEqual(ws.json().slice(1), [
    { t: 'check' },
    { t: 'hint', exercise: 'first' },
    { t: 'solution', exercise: 'first' },
    { t: 'quiz', quiz: 'basics', answers: [[1], [0, 2]] },
  ]);
  for (const m of ws.json().slice(1)) assert.ok(parseClientMessage(JSON.stringify(m)).ok, `the server accepts ${JSON.stringify(m)}`);
  ws.drop(1006);
  assert.equal(session.check(), false, 'nothing is sent on a closed socket');
  session.dispose();
});

test('pages without a lesson say hello without lesson or lang', async () => {
  const { session } = setup();
  session.start();
  await tick();
  const ws = FakeSocket.all[0]!;
  ws.open();
  assert.deepEqual(Object.keys(ws.json()[0]).sort(), ['cols', 'rows', 't']);
  session.dispose();
});

test('Run types only at the shell prompt, as its OSC 133 / 6973 markers say', async () => {
  const handlers = new Map<number, (data: string) => boolean>();
  const parser = {
    registerOscHandler: (id: number, fn: (data: string) => boolean) => {
      handlers.set(id, fn);
      return { dispose: () => handlers.delete(id) };
    },
  };
  FakeSocket.all = [];
  const t = fakeTerminal();
  const session = new TerminalSession(Object.assign(t.term, { parser }) as SessionTerminal, {
    socketUrl: 'ws://x/ws/terminal',
    fetch: okFetch,
    WebSocket: FakeSocket as unknown as typeof WebSocket,
  });
  session.start();
  await tick();
  const ws = FakeSocket.all[0]!;
  ws.open();
  ws.text({ t: 'status', state: 'ready' });
  const osc = (id: number, data: string) => handlers.get(id)!(data);
  assert.equal(session.shellState, 'unknown');
  assert.equal(session.run('ls'), 'sent', 'no marker seen yet: nothing to wait for');
  osc(133, 'A');
  assert.equal(session.shellState, 'prompt');
  assert.equal(session.run('docker ps'), 'sent');
  assert.equal(session.shellState, 'busy', 'after Enter, busy until the next prompt');
  assert.equal(session.run('docker images'), 'busy');
  osc(6973, 'berth-prompt');
  osc(133, 'C'); // `docker run -it busybox sh` started
  const before = ws.sent.length;
  assert.equal(session.run('docker ps'), 'busy');
  assert.equal(ws.sent.length, before, 'nothing typed into the program');
  osc(133, 'A');
  assert.equal(session.run('docker ps'), 'sent');
  ws.text({ t: 'replay', bytes: 0 });
  assert.equal(session.shellState, 'unknown', 'a replayed screen says again');
  session.dispose();
  assert.equal(handlers.size, 0, 'handlers disposed');
});

test("xterm's answers to queries in replayed scrollback are not typed into the shell", async () => {
  const { session, data, writes } = setup();
  session.start();
  await tick();
  const ws = FakeSocket.all[0]!;
  ws.open();
  ws.text({ t: 'status', state: 'ready' });
  const binaries = () => ws.sent.filter((s) => typeof s !== 'string').length;
  ws.text({ t: 'replay', bytes: 10 });
  ws.bytes(6);
  ws.bytes(4);
  data.fire('\x1b[12;5R'); // xterm answering an ESC[6n in the old output
  writes[0]!.done();
  data.fire('\x1b[12;5R');
  assert.equal(binaries(), 0, 'dropped while the replay is being parsed');
  writes[1]!.done();
  ws.bytes(3); // live output
  data.fire('x');
  assert.equal(binaries(), 1, 'typing after the replay goes out');
  session.dispose();
});
