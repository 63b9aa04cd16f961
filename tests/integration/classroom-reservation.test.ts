/**
 * An instructor reserves sandboxes for a class ahead of its start: the pool boots
 * them with the class's images already pulled, only the class's learners get them,
 * the class page shows the reservation and the host's headroom, and ending the class
 * gives the unclaimed ones back. Real server, real sandboxes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { noteLesson, writeLessons } from '../helpers/lessons.ts';
import { newInstructor, post, type InstructorClient } from '../helpers/classroom.ts';
import { handleOf } from '../../sandbox-server/src/identity.ts';

const NOTE = noteLesson();

interface ClassInfo {
  reservation: { count: number; images: string[]; ready: number; booting: number; claimed: number; active: boolean } | null;
  headroom: { slotsMax: number; slotsUsed: number; waiting: number };
}

describe('reserving sandboxes for a class', () => {
  const content = writeLessons({ '80-note': NOTE });
  let berth: TestBerth;
  let kim: InstructorClient;
  let classId: string;
  let code: string;
  const info = async () => (await (await kim.get(`/api/teach/classes/${classId}`)).json()) as ClassInfo;

  before(async () => {
    // No ordinary pool: every booted sandbox here is the reservation's.
    berth = await startTestBerth(testConfig({ BERTH_CONTENT_DIR: content, BERTH_WARM_POOL: '0', BERTH_MAX_SANDBOXES: '4' }));
    kim = await newInstructor(berth, 'kim');
  });
  after(async () => {
    await berth?.destroy();
  });

  test('bad reservations are refused with the reason, and nothing is created', async () => {
    const now = Date.now();
    const noWindow = await kim.post('/api/teach/classes', { name: 'A', lessons: ['80-note'], reserve: { count: 2, images: ['nginx'] } });
    assert.equal(noWindow.status, 400);
    assert.match(((await noWindow.json()) as { error: string }).error, /start and end/);
    const tooMany = await kim.post('/api/teach/classes', { name: 'A', lessons: ['80-note'], startsAt: now, endsAt: now + 3_600_000, reserve: { count: 5, images: [] } });
    assert.match(((await tooMany.json()) as { error: string }).error, /at most 4/);
    const badImage = await kim.post('/api/teach/classes', { name: 'A', lessons: ['80-note'], startsAt: now, endsAt: now + 3_600_000, reserve: { count: 1, images: ['nginx; reboot'] } });
    assert.match(((await badImage.json()) as { error: string }).error, /not an image reference/);
    const list = (await (await kim.get('/api/teach/classes')).json()) as { classes: unknown[] };
    assert.equal(list.classes.length, 0);
  });

  test("the class's sandboxes boot ahead with its images, and its learner gets one at once", async (t) => {
    const now = Date.now();
    const created = await kim.post('/api/teach/classes', { name: 'Nine o\'clock', lessons: ['80-note'], startsAt: now + 60_000, endsAt: now + 3_600_000, reserve: { count: 2, images: ['nginx'] } });
    assert.equal(created.status, 201);
    ({ id: classId, code } = (await created.json()) as { id: string; code: string });
    const began = Date.now();
    for (let i = 0; ; i++) {
      const r = (await info()).reservation;
      if (r?.ready === 2) break;
      assert.ok(i < 480, `still warming after 240 s: ${JSON.stringify(r)}`);
      await new Promise((res) => setTimeout(res, 500));
    }
    t.diagnostic(`2 reserved sandboxes booted, nginx pulled into each, in ${Date.now() - began} ms`);
    const before = await info();
    assert.deepEqual(before.reservation, { count: 2, images: ['nginx'], ready: 2, booting: 0, claimed: 0, active: true });
    assert.equal(before.headroom.slotsMax, 4);
    assert.equal(before.headroom.slotsUsed, 2, 'the reserved sandboxes hold their slots');

    // Someone outside the class gets no reserved sandbox (and, with no ordinary pool, a cold start).
    const outsider = await newLearner(berth);
    assert.equal(berth.manager.status(handleOf(outsider.split('=')[1]!)).state, 'absent');

    const joined = await post(berth, `/api/join/${code}`, { name: 'Ada' });
    assert.equal(joined.status, 200);
    const cookie = joined.headers.get('set-cookie')!.split(';')[0]!;
    const opened = Date.now();
    const term = new TestTerminal(berth.origin, { cookie, hello: { cols: 100, rows: 30, lesson: '80-note', lang: 'en' } });
    try {
      await term.waitForState('ready', 60_000);
      t.diagnostic(`the class's learner: page to prompt in ${Date.now() - opened} ms`);
      assert.ok(!term.messages.some((m) => m.t === 'status' && m.code === 'creating'), 'no create: a reserved sandbox');
      const images = await term.run("docker images --format '{{.Repository}}:{{.Tag}}'");
      assert.match(images, /nginx:latest/, 'the class image is already there');
      const after = await info();
      assert.equal(after.reservation?.claimed, 1);
      assert.equal(after.reservation?.ready, 1, 'one left for the next learner');
    } finally {
      term.close();
    }
  });

  test('ending the class gives the unclaimed reserved sandbox back', async () => {
    assert.equal((await kim.post(`/api/teach/classes/${classId}/end`, {})).status, 204);
    const ended = await info();
    assert.equal(ended.reservation?.active, false);
    for (let i = 0; (await info()).headroom.slotsUsed > 1; i++) {
      assert.ok(i < 60, 'the spare reserved sandbox is removed');
      await new Promise((res) => setTimeout(res, 500));
    }
  });
});
