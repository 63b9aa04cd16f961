/**
 * Looking over a learner's shoulder and recordings, against a real sandbox: the
 * watcher sees the scrollback and live output and cannot type; only the class's
 * instructor may watch; help mode is shown to the learner, who can end it; the
 * recording is asciicast v2 with the exercise's marker, stops at its cap, and is
 * gone after "forget me".
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerMessage } from '../../sandbox-server/src/protocol.ts';
import { handleOf } from '../../sandbox-server/src/identity.ts';
import { LIMIT_MARKER } from '../../sandbox-server/src/classroom/recorder.ts';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { TestWatcher } from '../helpers/watch-client.ts';
import { noteLesson, writeLessons } from '../helpers/lessons.ts';
import { newInstructor, post, type InstructorClient } from '../helpers/classroom.ts';

const LESSON = noteLesson('write-note');
const CAP = 48 * 1024;

type Watchers = Extract<ServerMessage, { t: 'watchers' }>;

/** Parses an asciicast v2 file strictly: a header, then [time, code, string] events in time order. */
function parseCast(text: string): { header: Record<string, unknown>; events: [number, string, string][] } {
  const lines = text.split('\n');
  assert.equal(lines.at(-1), '', 'ends with a newline');
  const header = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(header.version, 2);
  assert.ok(Number.isInteger(header.width) && Number.isInteger(header.height) && typeof header.timestamp === 'number', JSON.stringify(header));
  const events = lines.slice(1, -1).map((l) => JSON.parse(l) as [number, string, string]);
  let last = 0;
  for (const e of events) {
    assert.equal(e.length, 3);
    assert.ok(typeof e[0] === 'number' && e[0] >= last, `times do not go back: ${e[0]} after ${last}`);
    assert.ok(e[1] === 'o' || e[1] === 'm' || e[1] === 'r', `only output, markers and resizes (never input): ${e[1]}`);
    if (e[1] === 'r') assert.match(e[2], /^\d+x\d+$/);
    assert.equal(typeof e[2], 'string');
    last = e[0];
  }
  return { header, events };
}

describe('watching a learner and recording their terminal', () => {
  const config = testConfig({ BERTH_CONTENT_DIR: writeLessons({ '90-watch': LESSON, '91-flood': LESSON, '92-free': LESSON }), BERTH_RECORDING_MAX: String(CAP) });
  let berth: TestBerth;
  let learner: string; // handle
  let learnerCookie: string;
  let otherLearner: string;
  let term: TestTerminal;
  let kim: InstructorClient; // the class's instructor
  let lee: InstructorClient; // another class's
  let classId: string;
  let otherClass: string;
  const alice = { cookie: '' }; // kim's session cookie, for the watch socket
  const watchers = () => term.messages.findLast((m): m is Watchers => m.t === 'watchers');
  const joinClass = async (code: string, cookie: string, name: string) => {
    const res = await post(berth, `/api/join/${code}`, { name }, { Cookie: cookie });
    assert.equal(res.status, 200, await res.text());
  };

  before(async () => {
    berth = await startTestBerth(config);
    // Real instructors: made with the operator's command, logged in through the HTTP routes.
    kim = await newInstructor(berth, 'kim');
    lee = await newInstructor(berth, 'lee');
    alice.cookie = kim.cookie;
    const made = (await (await kim.post('/api/teach/classes', { name: 'Docker 101', lessons: ['90-watch', '91-flood'] })).json()) as { id: string; code: string };
    classId = made.id;
    const other = (await (await lee.post('/api/teach/classes', { name: 'Other', lessons: ['90-watch'] })).json()) as { id: string; code: string };
    otherClass = other.id;
    learnerCookie = await newLearner(berth);
    learner = handleOf(learnerCookie.split('=')[1]!);
    await joinClass(made.code, learnerCookie, 'Min');
    const otherCookie = await newLearner(berth);
    otherLearner = handleOf(otherCookie.split('=')[1]!);
    await joinClass(other.code, otherCookie, 'Jun');
    term = new TestTerminal(berth.origin, { cookie: learnerCookie, hello: { cols: 100, rows: 30, lesson: '90-watch', lang: 'en' } });
    await term.waitForState('ready', 90_000);
    await term.run('echo before-$((20+1))-watch');
  });
  after(async () => {
    term?.close();
    await berth?.destroy();
  });

  test('a watcher gets the scrollback, then live output, at the learner\'s size', async () => {
    const w = new TestWatcher(berth.origin, learner, alice);
    await w.opened;
    await w.until(() => /before-21-watch/.test(w.output), 5000, 'the scrollback');
    const watching = w.messages[0];
    assert.equal(watching?.t, 'watching');
    assert.deepEqual(watching.t === 'watching' && [watching.cols, watching.rows], [100, 30]);
    await term.run('echo live-$((6*7))');
    await w.until(() => /live-42/.test(w.output), 5000, 'live output');
    term.control({ t: 'resize', cols: 90, rows: 28 });
    await w.until(() => w.messages.some((m) => m.t === 'resize' && m.cols === 90 && m.rows === 28), 5000, 'the view to follow a resize');
    // The learner can see who is watching; the name is data, never markup (the page renders text).
    await term.until(() => watchers()?.watchers.length === 1, 5000, 'the watchers message');
    assert.deepEqual(watchers()!.watchers, [{ name: 'kim', helping: false }]);
    w.close();
    await term.until(() => watchers()?.watchers.length === 0, 5000, 'the watcher to leave');
  });

  test('a watcher cannot type: its input never reaches the shell', async () => {
    const w = new TestWatcher(berth.origin, learner, alice);
    await w.opened;
    await w.until(() => w.messages.length > 0, 5000, 'watching');
    w.type('touch /tmp/watcher-typed; echo wtyped-$((3*3))\r');
    // Had it reached the shell, its echo and output would be on both screens within
    // a round trip; a second is many round trips (the learner's command below is one).
    await new Promise((r) => setTimeout(r, 1000));
    const out = await term.run('test -e /tmp/watcher-typed && echo TYPED || echo CLEAN');
    assert.match(out, /CLEAN/);
    assert.doesNotMatch(term.output, /wtyped/);
    assert.doesNotMatch(w.output, /wtyped/);
    w.close();
    await term.until(() => watchers()?.watchers.length === 0, 5000, 'the watcher to leave');
  });

  test('only an instructor of the learner\'s class may watch', async () => {
    const refused = async (who: string, opts: { cookie?: string; originHeader?: string }) =>
      new TestWatcher(berth.origin, who, opts).opened.then(() => 'opened', (err: Error) => err.message);
    assert.equal(await refused(learner, { cookie: lee.cookie }), 'upgrade refused: 403', 'another class\'s instructor');
    assert.equal(await refused(otherLearner, alice), 'upgrade refused: 403', 'a learner of another class');
    assert.equal(await refused(learner, { cookie: `${kim.cookie.split('=')[0]}=forged` }), 'upgrade refused: 401', 'a forged session');
    assert.equal(await refused(learner, {}), 'upgrade refused: 401');
    assert.equal(await refused(learner, { cookie: learnerCookie }), 'upgrade refused: 401', 'a learner cookie is no instructor');
    assert.equal(await refused(learner, { ...alice, originHeader: 'https://evil.example' }), 'upgrade refused: 403');
    assert.equal(await refused('../../etc', alice), 'upgrade refused: 403');
  });

  test('help mode: the learner is told who types, and can end it for good', async () => {
    const w = new TestWatcher(berth.origin, learner, alice);
    await w.opened;
    w.help(true);
    await w.until(() => w.messages.some((m) => m.t === 'help' && m.on), 5000, 'help on');
    await term.until(() => watchers()?.watchers.some((x) => x.helping && x.name === 'kim') === true, 5000, 'the learner\'s notice');
    w.type('echo helped-$((2+3))\r');
    await term.waitForOutput(/helped-5/, 10_000);
    term.control({ t: 'help-end' });
    await w.until(() => w.messages.some((m) => m.t === 'help' && !m.on && m.endedByLearner === true), 5000, 'help ended by the learner');
    await term.until(() => watchers()?.watchers.every((x) => !x.helping) === true, 5000, 'the notice gone');
    w.type('touch /tmp/after-end\r');
    w.help(true); // asking again from the same view is refused
    await w.until(() => w.messages.filter((m) => m.t === 'help' && !m.on).length >= 2, 5000, 'the refusal');
    w.type('touch /tmp/after-refusal\r');
    await new Promise((r) => setTimeout(r, 1000)); // as above: many round trips for it to have arrived
    const out = await term.run('test -e /tmp/after-end || test -e /tmp/after-refusal || echo NONE');
    assert.match(out, /NONE/);
    w.close();
  });

  test('the recording is asciicast v2 with output only and the exercise marker', async () => {
    await term.run('echo berth > ~/note.txt');
    await term.until(() => term.messages.some((m) => m.t === 'exercises' && m.items[0]?.status === 'passed'), 30_000, 'the exercise to pass');
    await term.run('echo after-pass');
    await berth.classroom.recorder.flush();
    const file = join(config.dataDir, 'recordings', classId, learner, '90-watch.cast');
    const { header, events } = parseCast(readFileSync(file, 'utf8'));
    assert.deepEqual([header.width, header.height, header.title], [100, 30, '90-watch']);
    const output = events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    assert.match(output, /live-42/);
    assert.ok(events.some((e) => e[1] === 'r' && e[2] === '90x28'), 'the resize is in the recording');
    const marker = events.findIndex((e) => e[1] === 'm' && e[2] === 'write-note');
    assert.ok(marker > 0, 'the exercise marker is there');
    assert.match(events.slice(marker).filter((e) => e[1] === 'o').map((e) => e[2]).join(''), /after-pass/, 'the marker sits before what came after the pass');

    // The instructor's API: the list with the marker, and the file itself; nobody else gets either.
    const get = (path: string, cookie?: string) => fetch(`${berth.origin}/api/teach/classes/${classId}/recordings/${path}`, { headers: cookie ? { Cookie: cookie } : {} });
    const list = (await (await get(learner, alice.cookie)).json()) as { recordings: { lesson: string; markers: { label: string }[] }[] };
    assert.deepEqual(list.recordings.find((r) => r.lesson === '90-watch')?.markers.map((m) => m.label), ['write-note']);
    assert.equal((await get(`${learner}/90-watch`, alice.cookie)).status, 200);
    assert.equal((await get(`${learner}/90-watch`, lee.cookie)).status, 404);
    assert.equal((await get(`${learner}/90-watch`, learnerCookie)).status, 401);
    assert.equal((await get(`${otherLearner}/90-watch`, alice.cookie)).status, 404);
    const viaOther = await fetch(`${berth.origin}/api/teach/classes/${otherClass}/recordings/${learner}`, { headers: { Cookie: lee.cookie } });
    assert.equal(viaOther.status, 404, 'only the learner\'s class');
  });

  test('a recording stops at its cap; the learner\'s terminal goes on', async () => {
    // A second page on another lesson: the learner's output now belongs to that lesson.
    const flood = new TestTerminal(berth.origin, { cookie: learnerCookie, hello: { cols: 100, rows: 30, lesson: '91-flood', lang: 'en' } });
    await flood.waitForState('ready', 30_000);
    await flood.run(`head -c ${CAP * 3} /dev/zero | tr '\\0' x; echo`);
    const out = await flood.run('echo still-$((1+1))-here');
    assert.match(out, /still-2-here/);
    await berth.classroom.recorder.flush();
    const file = join(config.dataDir, 'recordings', classId, learner, '91-flood.cast');
    assert.ok(statSync(file).size <= CAP, `${statSync(file).size} <= ${CAP}`);
    const { events } = parseCast(readFileSync(file, 'utf8'));
    assert.deepEqual(events.at(-1)!.slice(1), ['m', LIMIT_MARKER]);
    assert.doesNotMatch(events.map((e) => e[2]).join(''), /still-2-here/);
    flood.close();
  });

  test('a lesson the class does not record is not recorded', async () => {
    const free = new TestTerminal(berth.origin, { cookie: learnerCookie, hello: { cols: 100, rows: 30, lesson: '92-free', lang: 'en' } });
    await free.waitForState('ready', 30_000);
    await free.run('echo not-recorded');
    await berth.classroom.recorder.flush();
    assert.equal(existsSync(join(config.dataDir, 'recordings', classId, learner, '92-free.cast')), false);
    free.close();
  });

  test('"forget me" deletes the learner\'s recordings', async () => {
    const dir = join(config.dataDir, 'recordings', classId, learner);
    assert.ok(existsSync(join(dir, '90-watch.cast')));
    const res = await fetch(`${berth.origin}/api/forget`, { method: 'POST', headers: { Cookie: learnerCookie, Origin: berth.origin } });
    assert.equal(res.status, 204);
    assert.equal(existsSync(dir), false);
    const list = await fetch(`${berth.origin}/api/teach/classes/${classId}/recordings/${learner}`, { headers: { Cookie: alice.cookie } });
    assert.equal(list.status, 404, 'a forgotten learner is in no class');
  });
});
