/**
 * What an instructor does to a running class, against a real server and a real
 * sandbox: a message reaches its learners' pages (and no one else's), a learner's
 * sandbox is reset (progress kept), and ending the class stops its sandboxes
 * (data and progress kept) and tells the learners.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { noteLesson, writeLessons } from '../helpers/lessons.ts';
import { newInstructor, openStream, post, type InstructorClient } from '../helpers/classroom.ts';
import { handleOf } from '../../sandbox-server/src/identity.ts';
import type { ClassNotice } from '../../sandbox-server/src/protocol.ts';

const NOTE = noteLesson();

describe('class actions', () => {
  const content = writeLessons({ '80-note': NOTE });
  let berth: TestBerth;
  let kim: InstructorClient;
  let lee: InstructorClient;
  let classId: string;
  let cookie: string;
  let learner: string;
  let term: TestTerminal;

  before(async () => {
    berth = await startTestBerth(testConfig({ BERTH_REGISTRY: 'off', BERTH_CONTENT_DIR: content }));
    kim = await newInstructor(berth, 'kim');
    lee = await newInstructor(berth, 'lee');
    const created = (await (await kim.post('/api/teach/classes', { name: 'A', lessons: ['80-note'] })).json()) as { id: string; code: string };
    classId = created.id;
    const joined = await post(berth, `/api/join/${created.code}`, { name: 'Ada' });
    cookie = joined.headers.get('set-cookie')!.split(';')[0]!;
    learner = handleOf(cookie.split('=')[1]!);
    term = new TestTerminal(berth.origin, { cookie, hello: { cols: 100, rows: 30, lesson: '80-note', lang: 'en' } });
    await term.waitForState('ready', 120_000);
  });
  after(async () => {
    term?.close();
    await berth?.destroy();
  });

  test("a message reaches the class's learners, and only them", async () => {
    const outsider = await newLearner(berth);
    assert.deepEqual(await (await fetch(`${berth.origin}/api/class`, { headers: { Cookie: outsider } })).json(), { classes: 0 });
    assert.deepEqual(await (await fetch(`${berth.origin}/api/class`, { headers: { Cookie: cookie } })).json(), { classes: 1 });
    assert.equal((await fetch(`${berth.origin}/api/class/events`, { headers: { Cookie: outsider } })).status, 204, 'in no class: no stream');
    assert.equal((await fetch(`${berth.origin}/api/class/events`)).status, 204);
    const leeClass = (await (await lee.post('/api/teach/classes', { name: 'B', lessons: ['80-note'] })).json()) as { id: string; code: string };
    await post(berth, `/api/join/${leeClass.code}`, { name: 'Bo' }, { Cookie: outsider });
    const theirs = await openStream<ClassNotice>(`${berth.origin}/api/class/events`, outsider);
    const mine = await openStream<ClassNotice>(`${berth.origin}/api/class/events`, cookie);

    assert.equal((await lee.post(`/api/teach/classes/${classId}/notice`, { text: 'not my class' })).status, 404);
    assert.equal((await post(berth, `/api/teach/classes/${classId}/notice`, { text: 'no token' }, { Cookie: kim.cookie })).status, 403);
    assert.equal((await kim.post(`/api/teach/classes/${classId}/notice`, { text: '' })).status, 400);
    assert.equal((await kim.post(`/api/teach/classes/${classId}/notice`, { text: '<b>Break</b> until 10:30' })).status, 204);
    await mine.until(() => mine.messages.length > 0, 'the message');
    assert.equal(mine.messages[0]!.t, 'message');
    assert.equal((mine.messages[0] as { text: string }).text, '<b>Break</b> until 10:30');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(theirs.messages, [], "class B's learner hears nothing of class A");
    theirs.close();
    mine.close();
  });

  test("the instructor resets a learner's sandbox: a new container, progress kept", async () => {
    await term.run('echo berth > ~/note.txt');
    await term.until(() => berth.store.progress(learner).some((r) => r.exercise === 'make-note' && r.firstPassedAt !== null), 30_000, 'the pass recorded');
    const before = (await berth.runtime.listSandboxes()).map((s) => s.id);
    assert.equal((await lee.post(`/api/teach/classes/${classId}/learners/${learner}/reset`)).status, 404, "another instructor's");
    assert.equal((await kim.post(`/api/teach/classes/${classId}/learners/${'0'.repeat(32)}/reset`)).status, 404, 'not a member');
    assert.equal((await kim.post(`/api/teach/classes/${classId}/learners/${learner}/reset`)).status, 202);
    await term.until(() => term.messages.some((m) => m.t === 'status' && m.state === 'creating'), 30_000, 'the reset to begin');
    await term.waitForState('ready', 120_000);
    const now = (await berth.runtime.listSandboxes()).map((s) => s.id);
    assert.equal(now.length, 1);
    assert.notDeepEqual(now, before, 'a new sandbox container');
    assert.equal(await term.run('cat ~/note.txt 2>&1 || true').then((out) => out.includes('No such file')), true, 'the old files are gone');
    assert.ok(berth.store.progress(learner).some((r) => r.exercise === 'make-note' && r.firstPassedAt !== null), 'progress kept');
  });

  test('ending the class stops its sandboxes, keeps their data, and tells the learners', async () => {
    await term.run('echo kept > ~/kept.txt');
    const mine = await openStream<ClassNotice>(`${berth.origin}/api/class/events`, cookie);
    assert.equal((await kim.post(`/api/teach/classes/${classId}/end`)).status, 204);
    await mine.until(() => mine.messages.some((m) => m.t === 'ended'), 'the ended notice');
    await term.until(() => term.messages.some((m) => m.t === 'status' && m.state === 'stopped'), 60_000, 'the sandbox to stop');
    const [sandbox] = await berth.runtime.listSandboxes();
    assert.ok(sandbox, 'the sandbox is stopped, not removed');
    assert.equal((await kim.post(`/api/teach/classes/${classId}/notice`, { text: 'too late' })).status, 404, 'an ended class takes no messages');
    mine.close();
  });
});
