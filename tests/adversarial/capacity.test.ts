/**
 * A burst of 50 learners against BERTH_MAX_SANDBOXES=3, with a real engine and
 * real sandboxes. Everybody gets a place in line (no errors), places are
 * consecutive and only ever go down, the engine never runs more than 3
 * sandboxes, served learners leave once they have a prompt so the line moves,
 * and the last few leave the line instead (a defined outcome: their sandbox is
 * never created). Wait times and estimates are printed.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerMessage } from '../../sandbox-server/src/protocol.ts';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';

const LEARNERS = 50;
const MAX = 3;
/** Learners served (each leaves once ready, freeing the slot) before the rest leave the line. */
const SERVED = 40;

type Status = Extract<ServerMessage, { t: 'status' }>;
const statuses = (t: TestTerminal) => t.messages.filter((m): m is Status => m.t === 'status');
const lastPosition = (t: TestTerminal) => statuses(t).filter((s) => s.code === 'queued' && s.position !== undefined).at(-1)?.position;

let berth: TestBerth | undefined;
after(async () => {
  await berth?.destroy();
});

test(`a burst of ${LEARNERS} learners waits in a fair line for ${MAX} running slots`, { timeout: 300_000 }, async () => {
  berth = await startTestBerth(
    // All 50 arrive from one address here, like a class behind a school NAT.
    testConfig({ BERTH_MAX_SANDBOXES: String(MAX), BERTH_DETACHED_GRACE: '1s', BERTH_WARM_POOL: '0', BERTH_MAX_CONCURRENT_STARTS: String(MAX), BERTH_SANDBOXES_PER_ADDRESS: String(LEARNERS) }),
  );
  const b = berth;
  const cookies = await Promise.all(Array.from({ length: LEARNERS }, () => newLearner(b)));

  // Watch the engine itself: never more than MAX sandboxes running.
  let maxRunning = 0;
  let maxSlots = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const running = (await b.runtime.listSandboxes()).filter((s) => s.running).length;
      maxRunning = Math.max(maxRunning, running);
      maxSlots = Math.max(maxSlots, b.manager.slots.running);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();

  const began = Date.now();
  const terms = cookies.map((cookie) => new TestTerminal(b.origin, { cookie }));
  const readyAt = new Map<TestTerminal, number>();
  try {
    // Everybody is either running or has a place; the places are exactly 1..47.
    await Promise.all(
      terms.map((t) => t.until(() => statuses(t).length > 0 || t.closed !== undefined, 60_000, 'a first status')),
    );
    const queued = () => terms.filter((t) => !statuses(t).some((s) => s.state === 'ready') && lastPosition(t) !== undefined);
    await terms[0]!.until(
      () => {
        const places = queued().map(lastPosition).sort((x, y) => x! - y!);
        return places.length === LEARNERS - MAX && places.every((p, i) => p === i + 1);
      },
      60_000,
      `places 1..${LEARNERS - MAX}`,
    );
    console.log(`# ${LEARNERS} joined: ${MAX} starting, places 1..${LEARNERS - MAX} handed out in ${Date.now() - began} ms`);

    // Serve: each learner who gets a prompt leaves at once, freeing the slot for the next.
    const served: TestTerminal[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        for (const t of terms) {
          if (readyAt.has(t)) continue;
          const last = statuses(t).at(-1);
          if (last?.state === 'failed') return reject(new Error(`a learner's sandbox failed: ${last.message}`));
          if (last?.state !== 'ready') continue;
          readyAt.set(t, Date.now());
          served.push(t);
          t.close();
        }
        if (served.length >= SERVED) {
          clearInterval(timer);
          resolve();
        }
      }, 100);
    });

    // Nobody jumped the line: the first MAX never queued, the others came from its front
    // (slots are granted in line order; starts running side by side may finish in any order).
    const joinedAt = (t: TestTerminal) => statuses(t).find((s) => s.code === 'queued' && s.position !== undefined)?.position;
    assert.deepEqual(served.slice(0, MAX).map(joinedAt), Array(MAX).fill(undefined), 'the first to run never waited');
    for (const t of served.slice(MAX)) assert.ok(joinedAt(t)! <= SERVED, `served from place ${joinedAt(t)}, not the front of the line`);

    // Everyone still waiting: places only went down, and are consecutive now.
    const waiting = terms.filter((t) => !readyAt.has(t));
    for (const t of waiting) {
      const places = statuses(t).flatMap((s) => (s.code === 'queued' && s.position !== undefined ? [s.position] : []));
      const moves = places.filter((p, i) => i === 0 || p !== places[i - 1]);
      assert.ok(moves.every((p, i) => i === 0 || p < moves[i - 1]!), `places only go down: ${moves.join(',')}`);
    }
    // The slots the last served learners freed go to the next MAX; then the line holds still.
    const inLine = () => terms.filter((t) => !t.closed && statuses(t).at(-1)?.code === 'queued');
    await terms[0]!.until(
      () => {
        const places = inLine().map(lastPosition).sort((x, y) => x! - y!);
        return places.length === LEARNERS - SERVED - MAX && places.every((p, i) => p === i + 1);
      },
      60_000,
      `places 1..${LEARNERS - SERVED - MAX} after the line moved`,
    );
    const estimates = inLine().map((t) => statuses(t).at(-1)?.waitMs).filter((w) => w !== undefined);
    assert.ok(estimates.length > 0, 'an estimate once slots have turned over');
    const estimateAt = (place: number) => {
      const ms = statuses(inLine().find((t) => lastPosition(t) === place)!).at(-1)?.waitMs;
      return ms === undefined ? '?' : `~${Math.round(ms / 1000)} s`;
    };
    console.log(`# estimate after ${SERVED} served: place 1 ${estimateAt(1)}, place ${inLine().length} ${estimateAt(inLine().length)}`);

    const waits = served.map((t) => readyAt.get(t)! - began).sort((x, y) => x - y);
    console.log(`# served ${served.length}: wait to ready min ${waits[0]} ms, median ${waits[Math.floor(waits.length / 2)]} ms, max ${waits.at(-1)} ms; ${((Date.now() - began) / 1000).toFixed(1)} s in all`);

    // Nobody got an error.
    for (const t of terms) {
      assert.ok(!t.messages.some((m) => m.t === 'error'), 'no error messages');
      assert.ok(!statuses(t).some((s) => s.state === 'failed'), 'no failed sandboxes');
      assert.ok(t.closed === undefined || readyAt.has(t), `only the served closed (${JSON.stringify(t.closed)})`);
    }

    // The rest leave: after the keep time their places are given up and the line is empty.
    const leftAt = Date.now();
    for (const t of waiting) t.close();
    const drainDeadline = Date.now() + 60_000;
    while (b.manager.slots.waiting > 0) {
      assert.ok(Date.now() < drainDeadline, `the line drained (${b.manager.slots.waiting} left)`);
      await new Promise((r) => setTimeout(r, 250));
    }
    console.log(`# ${waiting.length} left the line; it was empty ${Date.now() - leftAt} ms later`);
    const created = new Set((await b.runtime.listSandboxes()).map((s) => s.learner));
    assert.ok(created.size <= SERVED + MAX, `sandboxes only for those who got a slot (${created.size})`);
  } finally {
    watching = false;
    await watcher;
    for (const t of terms) t.close();
  }
  console.log(`# most sandboxes running at once: engine ${maxRunning}, slots ${maxSlots}`);
  assert.ok(maxRunning <= MAX, `the engine ran ${maxRunning} sandboxes at once`);
  assert.ok(maxSlots <= MAX, `${maxSlots} slots were held at once`);
});
