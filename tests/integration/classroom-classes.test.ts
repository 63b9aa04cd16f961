/**
 * Classes against a real server: an instructor creates one, learners join with
 * its code through the real route (getting the normal learner cookie), a real
 * sandbox's check result reaches the grid's event stream, exports hold the rows,
 * and nobody sees a class that is not theirs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { writeLessons } from '../helpers/lessons.ts';
import { newInstructor, openStream, post, type InstructorClient } from '../helpers/classroom.ts';
import { CODE_ALPHABET } from '../../sandbox-server/src/classroom/classes.ts';
import { handleOf } from '../../sandbox-server/src/identity.ts';
import type { GridMessage } from '../../sandbox-server/src/protocol.ts';

const NOTE = `
exercises:
  - id: make-note
    title: { ko: 메모를 써요, en: Write a note }
    checks:
      - type: file_contains
        path: note.txt
        contains: berth
    hints:
      ko: [echo를 써요]
      en: [Use echo]
    solution: echo berth > ~/note.txt
    near_miss: "true"
quizzes:
  - id: basics
    title: { ko: 기초, en: Basics }
    questions:
      - prompt: { ko: 커널?, en: Kernel? }
        choices: [{ ko: 공유, en: Shared }, { ko: 따로, en: Separate }]
        answer: 0
        explanation: { ko: 공유해요, en: Shared }
`;
const OTHER = `
exercises:
  - id: make-dir
    title: { ko: 폴더, en: A folder }
    checks:
      - type: file_exists
        path: work
    solution: mkdir ~/work
    near_miss: "true"
`;

describe('classes', () => {
  const content = writeLessons({ '80-note': NOTE, '81-other': OTHER });
  let berth: TestBerth;
  let kim: InstructorClient;
  let lee: InstructorClient;
  let classId: string;
  let code: string;
  const terms: TestTerminal[] = [];

  before(async () => {
    berth = await startTestBerth(testConfig({ BERTH_REGISTRY: 'off', BERTH_CONTENT_DIR: content }));
    kim = await newInstructor(berth, 'kim');
    lee = await newInstructor(berth, 'lee');
  });
  after(async () => {
    for (const t of terms) t.close();
    await berth?.destroy();
  });

  test('an instructor creates a class with lessons in order; it gets a code, a join link and a QR code', async () => {
    assert.equal((await kim.post('/api/teach/classes', { name: 'Docker 101', lessons: ['80-note', 'nope'] })).status, 400, 'unknown lesson');
    assert.equal((await kim.post('/api/teach/classes', { name: '', lessons: ['80-note'] })).status, 400, 'no name');
    assert.equal((await post(berth, '/api/teach/classes', { name: 'x', lessons: ['80-note'] }, { Cookie: kim.cookie })).status, 403, 'no CSRF token');
    const res = await kim.post('/api/teach/classes', { name: 'Docker 101 <b>', lessons: ['81-other', '80-note'], limits: { memoryMiB: 1024 } });
    assert.equal(res.status, 201);
    ({ id: classId, code } = (await res.json()) as { id: string; code: string });
    assert.equal(code.length, 6);
    for (const c of code) assert.ok(CODE_ALPHABET.includes(c), `${c} is in the unambiguous alphabet`);
    assert.ok(!/[01OIL5S8B]/.test(CODE_ALPHABET));

    const info = (await (await kim.get(`/api/teach/classes/${classId}`)).json()) as Record<string, unknown>;
    assert.equal(info.name, 'Docker 101 <b>');
    assert.deepEqual(info.lessons, ['81-other', '80-note']);
    assert.deepEqual(info.limits, { memoryMiB: 1024 });
    assert.equal(info.joinUrl, `${berth.origin}/join/${code}/`);
    assert.match(String(info.qrSvg), /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const list = (await (await kim.get('/api/teach/classes')).json()) as { classes: { id: string }[] };
    assert.deepEqual(list.classes.map((c) => c.id), [classId]);
  });

  test('another instructor, a learner and an anonymous client get nothing of the class', async () => {
    for (const path of ['', '/grid', '/events', '/export.csv', '/export.json']) {
      assert.equal((await lee.get(`/api/teach/classes/${classId}${path}`)).status, 404, `lee: ${path}`);
      assert.equal((await fetch(`${berth.origin}/api/teach/classes/${classId}${path}`)).status, 401, `anonymous: ${path}`);
      const learner = await newLearner(berth);
      assert.equal((await fetch(`${berth.origin}/api/teach/classes/${classId}${path}`, { headers: { Cookie: learner } })).status, 401, `learner: ${path}`);
    }
    assert.equal((await lee.post(`/api/teach/classes/${classId}/end`)).status, 404);
    assert.deepEqual(((await (await lee.get('/api/teach/classes')).json()) as { classes: unknown[] }).classes, []);
  });

  test('learners join with the code and a display name; a new one gets the normal learner cookie', async () => {
    const messy = `${code.slice(0, 3).toLowerCase()}-${code.slice(3)}`;
    const look = await fetch(`${berth.origin}/api/join/${messy}`);
    assert.equal(look.status, 200);
    assert.deepEqual(await look.json(), { name: 'Docker 101 <b>', code, firstLesson: '81-other' });
    assert.equal((await fetch(`${berth.origin}/api/join/AAAAAA`)).status, 404);
    assert.equal((await post(berth, `/api/join/${code}`, { name: 'evil\u202Eeman' })).status, 400, 'bidi override');
    assert.equal((await post(berth, `/api/join/${code}`, { name: '   ' })).status, 400, 'blank');
    assert.equal((await post(berth, `/api/join/${code}`, { name: 'x'.repeat(41) })).status, 400, 'too long');
    const cross = await fetch(`${berth.origin}/api/join/${code}`, { method: 'POST', headers: { Origin: 'https://evil.example', 'Content-Type': 'application/json' }, body: '{"name":"x"}' });
    assert.equal(cross.status, 403);

    const joined = await post(berth, `/api/join/${code}`, { name: '  김 민수  ' });
    assert.equal(joined.status, 200);
    assert.deepEqual(await joined.json(), { class: 'Docker 101 <b>', firstLesson: '81-other' });
    const cookie = joined.headers.get('set-cookie')!.split(';')[0]!;
    assert.match(cookie, /^berth_learner=[A-Za-z0-9_-]{22}$/);
    const session = await fetch(`${berth.origin}/api/session`, { headers: { Cookie: cookie } });
    assert.equal(session.status, 200);
    assert.equal(session.headers.get('set-cookie')?.split(';')[0], cookie, 'the same learner, renewed');
    const learner = handleOf(cookie.split('=')[1]!);

    const existing = await newLearner(berth);
    const again = await post(berth, `/api/join/${code}`, { name: '=HYPERLINK("http://evil")' }, { Cookie: existing });
    assert.equal(again.status, 200);
    assert.equal(again.headers.get('set-cookie'), null, 'a learner with a cookie keeps it');

    const { classes } = berth.classroom;
    const kimId = berth.classroom.accounts.byName('kim')!.id;
    const leeId = berth.classroom.accounts.byName('lee')!.id;
    assert.equal(classes.canWatch(kimId, learner), true);
    assert.equal(classes.canWatch(leeId, learner), false);
    assert.equal(classes.canWatch(kimId, handleOf(existing.split('=')[1]!)), true);
    assert.deepEqual(classes.classOfLearner(learner), { classId, lessons: ['81-other', '80-note'] });

    const grid = (await (await kim.get(`/api/teach/classes/${classId}/grid`)).json()) as { columns: { id: string }[]; rows: { name: string; cells: unknown[] }[] };
    assert.deepEqual(grid.columns.map((c) => c.id), ['make-dir', 'make-note', 'quiz:basics']);
    assert.deepEqual(grid.rows.map((r) => r.name).sort(), ['=HYPERLINK("http://evil")', '김 민수'].sort());
  });

  test("a real sandbox's check result reaches the grid's stream", async () => {
    const stream = await openStream<GridMessage>(`${berth.origin}/api/teach/classes/${classId}/events`, kim.cookie);
    await stream.until(() => stream.messages.some((m) => m.t === 'snapshot'), 'the snapshot');
    const joined = await post(berth, `/api/join/${code}`, { name: 'Ada' });
    const cookie = joined.headers.get('set-cookie')!.split(';')[0]!;
    const learner = handleOf(cookie.split('=')[1]!);
    await stream.until(() => stream.messages.some((m) => m.t === 'row' && m.row.learner === learner), 'a row for the new member');

    const term = new TestTerminal(berth.origin, { cookie, hello: { cols: 100, rows: 30, lesson: '80-note', lang: 'en' } });
    terms.push(term);
    await term.waitForState('ready', 120_000);
    await term.run('echo berth > ~/note.txt');
    const passedAt = Date.now();
    await stream.until(() => stream.messages.some((m) => m.t === 'row' && m.row.learner === learner && m.row.cells[1]!.s === 'passed'), 'make-note passed in the grid');
    const row = stream.messages.findLast((m) => m.t === 'row' && m.row.learner === learner) as Extract<GridMessage, { t: 'row' }>;
    console.log(`# grid row arrived ${Date.now() - passedAt} ms after the command returned`);
    assert.equal(row.row.cells[0]!.s, 'pending', 'make-dir (the first lesson) untouched');
    assert.equal(row.row.current, 0);
    stream.close();
  });

  test('exports: CSV in Canvas layout with a BOM and formula-safe names; JSON per exercise', async () => {
    const res = await kim.get(`/api/teach/classes/${classId}/export.csv`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv; charset=utf-8/);
    const bytes = new Uint8Array(await res.arrayBuffer());
    assert.deepEqual([...bytes.slice(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 BOM');
    const lines = new TextDecoder().decode(bytes.slice(3)).trimEnd().split('\r\n');
    assert.equal(lines[0], 'Student,ID,SIS User ID,SIS Login ID,Section,81-other,80-note');
    assert.equal(lines[1], '    Points Possible,,,,,1,2');
    const byName = new Map(lines.slice(2).map((l) => [l.split(',')[0], l]));
    assert.ok(byName.has('"\'=HYPERLINK(""http://evil"")"'), `formula escaped: ${lines.join(' | ')}`);
    assert.match(byName.get('Ada')!, /^Ada,[0-9a-f]{8},,,Docker 101 <b>,0,1$/);
    assert.match(byName.get('김 민수')!, /,0,0$/);

    const json = (await (await kim.get(`/api/teach/classes/${classId}/export.json`)).json()) as {
      learners: { displayName: string; exercises: { exercise: string; status: string; firstPassedAt: string | null; attempts: number; hintsUsed: number; solutionRevealed: boolean }[] }[];
    };
    const ada = json.learners.find((l) => l.displayName === 'Ada')!;
    const note = ada.exercises.find((e) => e.exercise === 'make-note')!;
    assert.equal(note.status, 'passed');
    assert.ok(note.firstPassedAt && !Number.isNaN(Date.parse(note.firstPassedAt)));
    assert.deepEqual(Object.keys(note).sort(), ['attempts', 'exercise', 'firstPassedAt', 'hintsUsed', 'lesson', 'solutionRevealed', 'status']);
  });

  test('an ended class takes no one new and its instructor can no longer watch; a forgotten learner leaves it', async () => {
    const kimId = berth.classroom.accounts.byName('kim')!.id;
    const someone = await newLearner(berth);
    await post(berth, `/api/join/${code}`, { name: 'Leaving' }, { Cookie: someone });
    const handle = handleOf(someone.split('=')[1]!);
    assert.equal(berth.classroom.classes.canWatch(kimId, handle), true);
    const forget = await fetch(`${berth.origin}/api/forget`, { method: 'POST', headers: { Origin: berth.origin, Cookie: someone } });
    assert.equal(forget.status, 204);
    assert.equal(berth.classroom.classes.canWatch(kimId, handle), false, 'forget me removes the membership');

    assert.equal((await kim.post(`/api/teach/classes/${classId}/end`)).status, 204);
    assert.equal((await fetch(`${berth.origin}/api/join/${code}`)).status, 404);
    assert.equal((await post(berth, `/api/join/${code}`, { name: 'Late' })).status, 404);
    const members = berth.classroom.classes.members(classId);
    assert.ok(members.length >= 3, 'members and their progress stay');
    assert.equal(berth.classroom.classes.canWatch(kimId, members[0]!.learner), false);
  });
});
