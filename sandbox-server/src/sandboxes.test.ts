/**
 * SandboxManager's capacity and lifetime rules against an in-memory runtime:
 * the line for running slots, the warm pool, maximum ages. The real engine is
 * exercised in tests/integration/lifetime.test.ts and tests/adversarial/capacity.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { SandboxManager, type ManagerOptions, type SandboxClient } from './sandboxes.ts';
import type { SandboxInfo, SandboxRuntime } from './runtime/types.ts';
import type { ServerMessage } from './protocol.ts';
import { handleOf } from './identity.ts';

/** Containers in a Map; records how many ran at once at most. */
class FakeRuntime implements SandboxRuntime {
  readonly containers = new Map<string, SandboxInfo>();
  readonly volumes = new Set<string>();
  creates = 0;
  maxRunning = 0;
  private next = 0;

  private track(): void {
    this.maxRunning = Math.max(this.maxRunning, [...this.containers.values()].filter((c) => c.running).length);
  }
  private byId(id: string): SandboxInfo {
    const c = [...this.containers.values()].find((x) => x.id === id);
    if (!c) throw new Error(`no container ${id}`);
    return c;
  }
  async prepare() {}
  async ping() {
    return true;
  }
  async listSandboxes() {
    return [...this.containers.values()];
  }
  async listVolumes() {
    return [...this.volumes].map((learner) => ({ name: `vol-${learner}`, learner }));
  }
  async find(learner: string) {
    return this.containers.get(learner);
  }
  async create(learner: string) {
    this.creates++;
    const info: SandboxInfo = { id: `c${this.next++}`, learner, running: false, engineState: 'created', createdAt: Date.now() };
    this.containers.set(learner, info);
    this.volumes.add(learner);
    return info;
  }
  async start(id: string) {
    const c = this.byId(id);
    c.running = true;
    c.engineState = 'running';
    this.track();
  }
  async stop(id: string) {
    const c = this.byId(id);
    c.running = false;
    c.engineState = 'exited';
  }
  async destroy(learner: string) {
    this.containers.delete(learner);
    this.volumes.delete(learner);
  }
  async removeVolume(name: string) {
    this.volumes.delete(name.replace(/^vol-/, ''));
  }
  /** Commands run with exec, by container id. */
  readonly execs: { id: string; cmd: string[] }[] = [];
  async exec(id: string, cmd: string[]) {
    this.execs.push({ id, cmd });
    return { exitCode: 0, stdout: '', stderr: '', timedOut: false };
  }
  async watchEvents() {
    return () => {};
  }
  async openShell() {
    return { stream: new PassThrough(), resize: async () => {} };
  }
  async logsTail() {
    return '';
  }
  running(): number {
    return [...this.containers.values()].filter((c) => c.running).length;
  }
}

class FakeClient implements SandboxClient {
  readonly size = { cols: 80, rows: 24 };
  readonly backlog = 0;
  readonly pausedByPage = false;
  readonly messages: ServerMessage[] = [];
  lesson = undefined;
  lang = 'en' as const;
  sendMessage(msg: ServerMessage) {
    this.messages.push(msg);
  }
  sendOutput(_d: Buffer, flushed: () => void) {
    flushed();
  }
  sendReplay() {}
  sendExercises() {}
  get last(): Extract<ServerMessage, { t: 'status' }> | undefined {
    return this.messages.filter((m) => m.t === 'status').at(-1) as Extract<ServerMessage, { t: 'status' }> | undefined;
  }
  until(pred: (m: Extract<ServerMessage, { t: 'status' }>) => boolean, what: string): Promise<void> {
    return waitFor(() => this.last !== undefined && pred(this.last), what);
  }
}

async function waitFor(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function manager(runtime: FakeRuntime, opts: Partial<ManagerOptions> = {}) {
  return new SandboxManager({
    runtime,
    log: pino({ level: 'silent' }),
    isKnownLearner: () => true,
    idleTimeoutMs: 600_000,
    startTimeoutMs: 5000,
    maxConcurrentStarts: 4,
    scrollbackBytes: 4096,
    ...opts,
  });
}

test('past the maximum, learners wait in line with their place, and move up as slots free', async () => {
  const rt = new FakeRuntime();
  const m = manager(rt, { maxSandboxes: 2, detachedGraceMs: 60_000 });
  await m.reconcile();
  const clients = ['a', 'b', 'c', 'd'].map(() => new FakeClient());
  ['a', 'b', 'c', 'd'].forEach((l, i) => m.attach(l, clients[i]!));
  const [a, b, c, d] = clients as [FakeClient, FakeClient, FakeClient, FakeClient];
  await a.until((s) => s.state === 'ready', 'a ready');
  await b.until((s) => s.state === 'ready', 'b ready');
  await c.until((s) => s.code === 'queued' && s.position === 1, 'c first in line');
  await d.until((s) => s.code === 'queued' && s.position === 2, 'd second in line');
  assert.equal(rt.running(), 2);

  // a's page closes; with people waiting, a gives up its slot after the grace.
  m.detach('a', a);
  assert.equal(await m.stopIdle(Date.now() + 1000), 0, 'not before the grace');
  assert.equal(await m.stopIdle(Date.now() + 61_000), 1);
  assert.equal(rt.containers.get('a')!.running, false, 'stopped, kept');
  await c.until((s) => s.state === 'ready', 'c ready');
  await d.until((s) => s.code === 'queued' && s.position === 1, 'd moved up');
  assert.equal(rt.maxRunning, 2, 'never more than the maximum running');
  await m.shutdown();
});

test('with nobody in line, a sandbox without a page keeps running until the idle timeout', async () => {
  const rt = new FakeRuntime();
  const m = manager(rt, { maxSandboxes: 2, detachedGraceMs: 1000 });
  await m.reconcile();
  const a = new FakeClient();
  m.attach('a', a);
  await a.until((s) => s.state === 'ready', 'a ready');
  m.detach('a', a);
  assert.equal(await m.stopIdle(Date.now() + 5000), 0);
  assert.equal(await m.stopIdle(Date.now() + 600_001), 1);
  await m.shutdown();
});

test('a learner whose page closes leaves the line after a short keep time', async () => {
  const rt = new FakeRuntime();
  const m = manager(rt, { maxSandboxes: 1, lineKeepMs: 50 });
  await m.reconcile();
  const [a, b, c] = [new FakeClient(), new FakeClient(), new FakeClient()];
  m.attach('a', a);
  await a.until((s) => s.state === 'ready', 'a ready');
  m.attach('b', b);
  m.attach('c', c);
  await c.until((s) => s.position === 2, 'c second');
  m.detach('b', b);
  await c.until((s) => s.position === 1, 'c first once b left');
  assert.equal(m.slots.waiting, 1);
  await m.shutdown();
});

test('a reload in line keeps the place, even when the turn comes during the reload', async () => {
  const rt = new FakeRuntime();
  const m = manager(rt, { maxSandboxes: 1, lineKeepMs: 2000, detachedGraceMs: 1000 });
  await m.reconcile();
  const [a, b, c] = [new FakeClient(), new FakeClient(), new FakeClient()];
  m.attach('a', a);
  await a.until((s) => s.state === 'ready', 'a ready');
  m.attach('b', b);
  m.attach('c', c);
  await c.until((s) => s.position === 2, 'c second');
  m.detach('b', b); // b reloads...
  m.detach('a', a);
  assert.equal(await m.stopIdle(Date.now() + 1500), 1, 'a gives up its slot: b is granted while away');
  await new Promise((r) => setTimeout(r, 200));
  const b2 = new FakeClient();
  m.attach('b', b2); // ...and is back
  await b2.until((s) => s.state === 'ready', 'b ready, not sent to the back');
  assert.equal(m.slots.position('c'), 1);
  assert.equal(rt.maxRunning, 1);
  await m.shutdown();
});

test('the running maximum stops a sandbox at its maximum age, data kept, and pages see the deadline', async () => {
  const rt = new FakeRuntime();
  const m = manager(rt, { maxAgeMs: 3_600_000, idleTimeoutMs: 36_000_000 });
  await m.reconcile();
  const a = new FakeClient();
  const before = Date.now();
  m.attach('a', a);
  await a.until((s) => s.state === 'ready', 'ready');
  const at = a.last!.maxAgeStopAt!;
  assert.ok(at >= before + 3_600_000 && at <= Date.now() + 3_600_000, 'maxAgeStopAt is start + max age');
  m.input('a', Buffer.from('x')); // activity does not push the maximum age back
  assert.equal(await m.stopIdle(at - 1), 0);
  assert.equal(await m.stopIdle(at + 1), 1);
  await a.until((s) => s.state === 'stopped' && s.code === 'max-age-stopped', 'stopped for its age');
  assert.equal(rt.containers.get('a')?.running, false, 'container kept, stopped');
  await m.shutdown();
});

test('an empty input frame ("keep working") pushes the idle deadline back', async () => {
  const rt = new FakeRuntime();
  const m = manager(rt, { idleTimeoutMs: 120_000 });
  await m.reconcile();
  const a = new FakeClient();
  m.attach('a', a);
  await a.until((s) => s.state === 'ready', 'ready');
  const sent = a.messages.length;
  m.input('a', Buffer.alloc(0));
  assert.equal(a.messages.length, sent, 'a deadline that moved by less than 30 s is not re-announced');
  // Pretend the last announcement was a minute ago: the next activity moves the deadline enough.
  const sb = (m as unknown as { sandboxes: Map<string, { announcedIdleStopAt: number; lastActivity: number; lastKeepAliveAt: number }> }).sandboxes.get('a')!;
  sb.announcedIdleStopAt -= 60_000;
  const stale = sb.announcedIdleStopAt;
  // A second empty frame within a minute does not count (a script cannot hold a slot with them)...
  sb.lastActivity -= 60_000;
  const idleSince = sb.lastActivity;
  m.input('a', Buffer.alloc(0));
  assert.equal(sb.lastActivity, idleSince, 'a keep-working frame within a minute of the last one is not activity');
  assert.equal(a.messages.length, sent);
  // ...one a minute later does.
  sb.lastKeepAliveAt -= 60_000;
  m.input('a', Buffer.alloc(0));
  assert.equal(a.messages.length, sent + 1, 're-announced');
  assert.ok(a.last!.idleStopAt! >= stale + 60_000, 'the deadline moved forward');
  await m.shutdown();
});

test('stopped sandboxes of learners unseen past the stored age are deleted; recent and running ones stay', async () => {
  const rt = new FakeRuntime();
  const day = 86_400_000;
  const now = Date.now();
  const seen: Record<string, number> = { old: now - 15 * day, recent: now - day, oldRunning: now - 15 * day, volOnly: now - 20 * day };
  const m = manager(rt, { maxStoredAgeMs: 14 * day, learnerLastSeen: (h) => seen[h] });
  for (const l of ['old', 'recent', 'oldRunning']) (await rt.create(l)).engineState = 'exited';
  rt.volumes.add('volOnly');
  await rt.start(rt.containers.get('oldRunning')!.id);
  await m.reconcile();
  await waitFor(() => !rt.containers.has('old') && !rt.volumes.has('volOnly'), 'the sweep at start');
  assert.equal(await m.removeExpired(now), 0, 'nothing left to remove');
  assert.deepEqual([...rt.containers.keys()].sort(), ['oldRunning', 'recent']);
  assert.deepEqual([...rt.volumes].sort(), ['oldRunning', 'recent'], 'the volume-only learner is gone too');
  await m.shutdown();
});

test('the warm pool boots sandboxes for new learners, hands them out once, and refills', async () => {
  const rt = new FakeRuntime();
  const m = manager(rt, { warmPool: 2, maxSandboxes: 3 });
  await m.reconcile();
  await waitFor(() => m.poolSize().ready === 2, 'pool filled');
  assert.equal(rt.creates, 2);
  const id = m.claimWarm();
  assert.ok(id, 'a pooled id');
  const handle = handleOf(id);
  assert.equal(rt.containers.get(handle)?.running, true, 'its sandbox is labelled with its handle and running');
  const creates = rt.creates;
  const page = new FakeClient();
  m.attach(handle, page);
  await page.until((s) => s.state === 'ready', 'ready');
  assert.equal(rt.creates - creates <= 1, true, 'no create for the claimed one (only the refill)');
  assert.ok(!page.messages.some((msg) => msg.t === 'status' && msg.code === 'creating'), 'the page never saw a create');
  await waitFor(() => m.poolSize().ready === 2, 'refilled');
  assert.equal(rt.running(), 3, 'claimed + pool of 2, at the maximum');
  assert.notEqual(m.claimWarm(), id, 'never handed out twice');
  await m.shutdown();
});

test('the pool gives its slots to learners in line', async () => {
  const rt = new FakeRuntime();
  const m = manager(rt, { warmPool: 1, maxSandboxes: 2 });
  await m.reconcile();
  await waitFor(() => m.poolSize().ready === 1, 'pool filled');
  const [a, b] = [new FakeClient(), new FakeClient()];
  m.attach('a', a);
  await a.until((s) => s.state === 'ready', 'a ready');
  m.attach('b', b); // full: the pooled sandbox makes way
  await b.until((s) => s.state === 'ready', 'b ready');
  assert.equal(m.poolSize().total, 0, 'the pool does not refill while the slots are taken');
  assert.equal(rt.maxRunning, 2);
  assert.deepEqual([...rt.containers.keys()].sort(), ['a', 'b'], 'the pooled sandbox was removed');
  await m.shutdown();
});

test('a warm sandbox claimed by a client that never opens a terminal is removed after a minute', async () => {
  const rt = new FakeRuntime();
  const m = manager(rt, { warmPool: 1, maxSandboxes: 2 });
  await m.reconcile();
  await waitFor(() => m.poolSize().ready === 1, 'pool filled');
  const crawler = handleOf(m.claimWarm()!);
  await waitFor(() => m.poolSize().ready === 1, 'refilled');
  const learner = handleOf(m.claimWarm()!);
  const page = new FakeClient();
  m.attach(learner, page);
  await page.until((s) => s.state === 'ready', 'ready');
  assert.equal(await m.stopIdle(Date.now() + 59_000), 0);
  await m.stopIdle(Date.now() + 61_000);
  assert.equal(rt.containers.has(crawler), false, 'the unopened one is gone');
  assert.equal(m.slots.holds(crawler), false, 'and its slot is free');
  assert.equal(rt.containers.get(learner)?.running, true, 'the one in use stays');
  await m.shutdown();
});

test('learners who left are freed from memory once their sandbox is stopped; one who comes back gets it again', async () => {
  const rt = new FakeRuntime();
  const m = manager(rt, { idleTimeoutMs: 60_000 });
  await m.reconcile();
  const records = () => (m as unknown as { sandboxes: Map<string, unknown> }).sandboxes.size;
  const a = new FakeClient();
  const b = new FakeClient();
  m.attach('a', a);
  m.attach('b', b);
  await a.until((s) => s.state === 'ready', 'a ready');
  await b.until((s) => s.state === 'ready', 'b ready');
  m.detach('a', a);
  const later = Date.now() + 11 * 60_000;
  assert.equal(m.forgetLeft(later), 0, 'a running sandbox is kept, page or not');
  await m.stopIdle(later); // a was idle: stopped; b is attached but idle too by then
  m.detach('b', b);
  assert.equal(m.status('a').state, 'stopped');
  assert.equal(m.forgetLeft(Date.now()), 0, 'not right after the last page closed');
  assert.equal(m.forgetLeft(later + 11 * 60_000), 2);
  assert.equal(records(), 0);
  assert.equal(m.status('a').state, 'absent', 'nothing in memory');
  const back = new FakeClient();
  m.attach('a', back);
  const creates = rt.creates;
  await back.until((s) => s.state === 'ready', 'a ready again');
  assert.equal(rt.creates, creates, 'the same sandbox, started again, not a new one');
  assert.equal(rt.creates, 2);
  await m.shutdown();
});

test('a learner joining a full host frees only as many slots as the line needs, longest-detached first, at once', async () => {
  const rt = new FakeRuntime();
  const m = manager(rt, { maxSandboxes: 3, detachedGraceMs: 1000 });
  await m.reconcile();
  const pages = ['a', 'b', 'c'].map(() => new FakeClient());
  for (const [i, l] of ['a', 'b', 'c'].entries()) {
    m.attach(l, pages[i]!);
    await pages[i]!.until((s) => s.state === 'ready', `${l} ready`);
  }
  // Pages gone in the order b, a, c: b has been gone longest.
  for (const l of ['b', 'a', 'c']) {
    m.detach(l, pages[['a', 'b', 'c'].indexOf(l)]!);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(await m.stopIdle(), 0, 'nobody waits: all keep running');
  await new Promise((r) => setTimeout(r, 1100)); // past the grace
  const d = new FakeClient();
  m.attach('d', d); // the line grows: a slot is freed without waiting for a sweep
  await d.until((s) => s.state === 'ready', 'd ready');
  assert.equal(rt.containers.get('b')!.running, false, 'the longest-detached gave up its slot');
  assert.equal(rt.containers.get('a')!.running, true, 'the others keep theirs');
  assert.equal(rt.containers.get('c')!.running, true);
  assert.equal(await m.stopIdle(), 0, 'nothing more to free once the line is served');
  assert.equal(rt.maxRunning, 3);
  await m.shutdown();
});

test('the auto warm pool grows to the busiest minute of arrivals, only while memory allows', async () => {
  const rt = new FakeRuntime();
  let available = 8 * 1024 ** 3;
  const m = manager(rt, { warmPool: 'auto', warmPoolMax: 5, maxSandboxes: 12, availableMemory: () => available, memoryReserveBytes: 2 * 1024 ** 3 });
  await m.reconcile();
  await waitFor(() => m.poolSize().ready === 2, 'the pool starts at 2');
  assert.equal(m.poolTarget(), 2);
  for (let i = 0; i < 4; i++) assert.ok(m.claimWarm() !== undefined || i >= 2, 'warm ones first');
  assert.equal(m.poolTarget(), 4, 'four arrived this minute');
  await waitFor(() => m.poolSize().ready === 4, 'the pool grew to 4');
  for (let i = 0; i < 9; i++) m.claimWarm();
  assert.equal(m.poolTarget(), 5, 'never past the maximum');
  available = 1024 ** 3; // below the reserve: no growth, what is booted stays
  const size = m.poolSize().total;
  assert.equal(m.poolTarget(), size);
  await m.shutdown();
});

test('on a host with room for a class, the auto pool starts at 4', async () => {
  const rt = new FakeRuntime();
  const m = manager(rt, { warmPool: 'auto', maxSandboxes: 30 });
  await m.reconcile();
  await waitFor(() => m.poolSize().ready === 4, 'the pool starts at 4');
  assert.equal(m.poolTarget(), 4);
  await m.shutdown();
});

test('a reservation boots its sandboxes with its images, for its own learners only, and ends with its window', async () => {
  const rt = new FakeRuntime();
  const m = manager(rt, { warmPool: 1, maxSandboxes: 6 });
  await m.reconcile();
  await waitFor(() => m.poolSize().ready === 1, 'the ordinary pool');
  const later = Date.now() + 3_600_000;
  m.reserve({ id: 'class-later', count: 2, startsAt: later, endsAt: later + 3_600_000, images: ['nginx'] });
  const now = Date.now();
  m.reserve({ id: 'class-a', count: 3, startsAt: now, endsAt: now + 400, images: ['nginx', 'redis:8'] });
  await waitFor(() => m.reservation('class-a')?.ready === 3, 'three reserved sandboxes booted');
  assert.equal(m.reservation('class-later')?.ready, 0, 'a reservation an hour ahead does not warm yet');
  const pulls = rt.execs.filter((e) => e.cmd.includes('pull'));
  const reserved = [...rt.containers.values()].filter((c) => pulls.some((e) => e.id === c.id));
  assert.equal(reserved.length, 3, 'each reserved sandbox pulled');
  for (const c of reserved) {
    assert.deepEqual(pulls.filter((e) => e.id === c.id).map((e) => e.cmd.at(-1)), ['nginx', 'redis:8'], 'its images, in order');
  }
  const visitor = handleOf(m.claimWarm()!);
  assert.ok(!reserved.some((c) => c.learner === visitor), 'a visitor gets an ordinary sandbox');
  const learner = handleOf(m.claimWarm('class-a')!);
  assert.ok(reserved.some((c) => c.learner === learner), 'a learner of the class gets a reserved one');
  assert.equal(m.reservation('class-a')?.claimed, 1);
  assert.equal(m.reservation('class-a')?.ready, 2);
  await new Promise((r) => setTimeout(r, 450)); // the window ends
  m.claimWarm(); // any pool activity settles reservations (a timer does it too)
  await waitFor(() => m.reservation('class-a') === undefined, 'the reservation is over');
  await waitFor(() => reserved.filter((c) => rt.containers.has(c.learner)).length === 1, 'its two unclaimed sandboxes are removed');
  assert.ok(rt.containers.has(learner), 'the claimed one stays with its learner');
  await m.shutdown();
});

test('learners in line take ordinary pool sandboxes before reserved ones', async () => {
  const rt = new FakeRuntime();
  const m = manager(rt, { warmPool: 1, maxSandboxes: 3 });
  await m.reconcile();
  await waitFor(() => m.poolSize().ready === 1, 'the ordinary pool');
  const now = Date.now();
  m.reserve({ id: 'class-a', count: 2, startsAt: now, endsAt: now + 3_600_000, images: [] });
  await waitFor(() => m.reservation('class-a')?.ready === 2, 'reserved');
  const a = new FakeClient();
  m.attach('a', a); // full: one pool sandbox must make way
  await a.until((s) => s.state === 'ready', 'a ready');
  assert.equal(m.reservation('class-a')?.ready, 2, 'the reservation kept its sandboxes');
  const b = new FakeClient();
  m.attach('b', b); // still full: now a reserved one goes, a real learner comes first
  await b.until((s) => s.state === 'ready', 'b ready');
  assert.equal(m.reservation('class-a')?.ready, 1);
  await m.shutdown();
});

test('a reservation is refused with a reason when it cannot be met', () => {
  const m = manager(new FakeRuntime(), { maxSandboxes: 4 });
  const now = Date.now();
  assert.throws(() => m.reserve({ id: 'x', count: 5, startsAt: now, endsAt: now + 1000, images: [] }), /at most 4/);
  assert.throws(() => m.reserve({ id: 'x', count: 1, startsAt: now, endsAt: now - 1, images: [] }), /end after it starts/);
  assert.throws(() => m.reserve({ id: 'x', count: 1, startsAt: now, endsAt: now + 1000, images: ['nginx; rm -rf ~'] }), /not an image reference/);
  assert.equal(m.reservation('x'), undefined);
});
