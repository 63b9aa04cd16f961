/**
 * Live checks against a real sandbox: the page's lesson is evaluated as the
 * learner works, without pressing anything; progress survives a restart; hints,
 * solutions, timeouts and graded lessons behave as promised.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerMessage } from '../../sandbox-server/src/protocol.ts';
import { newLearner, startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { writeLessons } from '../helpers/lessons.ts';

type ExercisesMsg = Extract<ServerMessage, { t: 'exercises' }>;

const PRACTICE = `
reveal_solution_after: 2
exercises:
  - id: run-greeter
    title: { ko: greeter를 실행해요, en: Run greeter }
    checks:
      - type: container_exists
        name: greeter
      - type: container_uses_image
        name: greeter
        image: hello-world
    hints:
      ko: [docker run --name을 써요, 이미지는 hello-world예요]
      en: [Use docker run --name, The image is hello-world]
    solution: docker run --name greeter hello-world
    near_miss: "true"
    success: { ko: 잘했어요, en: Well done }
  - id: make-note
    title: { ko: 메모를 써요, en: Write a note }
    setup: echo prepared > ~/setup-ran.txt
    checks:
      - type: file_contains
        path: note.txt
        contains: berth
    solution: echo berth > ~/note.txt
    near_miss: "true"
`;

const GRADED = `
graded: true
exercises:
  - id: net
    title: { ko: 네트워크, en: A network }
    checks:
      - type: network_exists
        name: graded-net
    hints:
      ko: [힌트]
      en: [a hint]
    solution: docker network create graded-net
    near_miss: "true"
  - id: hang
    title: { ko: 멈춤, en: Hangs }
    checks:
      - type: script
        run: sleep 60
    solution: "true"
    near_miss: "true"
`;

const QUIZ = `
quizzes:
  - id: basics
    title: { ko: 기초, en: Basics }
    questions:
      - prompt: { ko: 컨테이너는 무엇을 공유하나요?, en: What do containers share? }
        choices: [{ ko: 호스트 커널, en: The host kernel }, { ko: 하이퍼바이저, en: A hypervisor }]
        answer: 0
        explanation: { ko: 커널을 공유해요, en: They share the kernel }
      - prompt: { ko: 네임스페이스는?, en: Which are namespaces? }
        choices: [{ ko: pid, en: pid }, { ko: cgroup, en: cgroup }, { ko: bios, en: bios }]
        answer: [0, 1]
        explanation: { ko: pid와 cgroup, en: pid and cgroup }
`;

const GRADED_QUIZ = `
graded: true
quizzes:
  - id: twice
    title: { ko: 두 번, en: Twice }
    submissions: 2
    questions:
      - prompt: { ko: 커널은?, en: The kernel? }
        choices: [{ ko: 공유, en: Shared }, { ko: 따로, en: Separate }]
        answer: 0
        explanation: { ko: 공유해요, en: Shared }
  - id: once
    title: { ko: 한 번, en: Once }
    questions:
      - prompt: { ko: 이미지는?, en: An image? }
        choices: [{ ko: 읽기 전용, en: Read-only }, { ko: 쓰기 가능, en: Writable }]
        answer: 0
        explanation: { ko: 읽기 전용, en: Read-only }
`;

function latestExercises(term: TestTerminal): ExercisesMsg | undefined {
  return term.messages.findLast((m): m is ExercisesMsg => m.t === 'exercises');
}

async function waitForExercise(term: TestTerminal, id: string, status: string, timeoutMs = 30_000) {
  await term.until(() => latestExercises(term)?.items.find((i) => i.id === id)?.status === status, timeoutMs, `${id} to be ${status}`);
  return latestExercises(term)!.items.find((i) => i.id === id)!;
}

describe('live exercise checks', () => {
  const content = writeLessons({ '90-practice': PRACTICE, '91-graded': GRADED, '92-quiz': QUIZ, '93-graded-quiz': GRADED_QUIZ });
  const config = testConfig({ BERTH_CONTENT_DIR: content });
  let berth: TestBerth;
  let cookie: string;
  let term: TestTerminal;
  let execs = 0;

  before(async () => {
    berth = await startTestBerth(config);
    const exec = berth.runtime.exec.bind(berth.runtime);
    berth.runtime.exec = (...args) => {
      if (args[1][0] === 'bash') execs++;
      return exec(...args);
    };
    cookie = await newLearner(berth);
  });
  after(async () => {
    term?.close();
    await berth?.destroy();
  });

  test('the lesson state arrives at once; feedback only after the first Check', async () => {
    term = new TestTerminal(berth.origin, { cookie, hello: { cols: 100, rows: 30, lesson: '90-practice', lang: 'en' } });
    await term.until(() => latestExercises(term) !== undefined, 5000, 'the exercises message');
    const first = latestExercises(term)!;
    assert.equal(first.lesson, '90-practice');
    assert.deepEqual(first.items.map((i) => i.status), ['pending', 'pending']);
    assert.equal(first.items[0]!.hintsTotal, 2);
    assert.deepEqual(first.items[0]!.hints, []);
    assert.equal(first.items[0]!.canRevealSolution, false);
    assert.equal(first.items[0]!.solution, undefined, 'no solution in the state before it is revealed');

    await term.waitForState('ready', 90_000);
    // The first run has happened (setup ran), yet nothing was tried: neutral, no feedback.
    await term.until(() => term.messages.some((m) => m.t === 'exercises' && m.checking), 15_000, 'a first run to start');
    await term.until(() => latestExercises(term)?.checking === false, 15_000, 'the first run to end');
    for (const item of latestExercises(term)!.items) {
      assert.equal(item.status, 'pending', `${item.id} reads neutral before any attempt`);
      assert.equal(item.feedback, undefined, `${item.id} gives nothing away before any attempt`);
    }
    term.control({ t: 'check' });
    const failing = await waitForExercise(term, 'run-greeter', 'failing');
    assert.match(failing.feedback ?? '', /no container named 'greeter'/);
    const note = await waitForExercise(term, 'make-note', 'failing');
    assert.match(note.feedback ?? '', /note\.txt/);
    assert.match(await term.run('cat ~/setup-ran.txt'), /prepared/, 'setup ran in the sandbox');
  });

  test('typing the solution turns the exercise green without pressing anything', async () => {
    const began = Date.now();
    term.send('docker run --name greeter hello-world >/dev/null\r');
    const passed = await waitForExercise(term, 'run-greeter', 'passed');
    console.log(`# command typed -> passed in ${Date.now() - began} ms (includes the docker run itself)`);
    assert.equal(passed.success, 'Well done');
    assert.ok(passed.passedAt && passed.passedAt <= Date.now());
    assert.equal(latestExercises(term)!.items[1]!.status, 'failing', 'the other exercise is still failing');
  });

  test('a change made outside the terminal is caught by engine events', async () => {
    const [sb] = await berth.runtime.listSandboxes();
    const runsBefore = execs;
    await berth.runtime.exec(sb!.id, ['sh', '-c', 'echo berth > ~/note.txt; docker network create evt-net >/dev/null'], 10_000);
    await waitForExercise(term, 'make-note', 'passed', 15_000);
    assert.ok(execs > runsBefore, 'a run happened');
    assert.ok(execs - runsBefore <= 4, `runs were collapsed: ${execs - runsBefore}`);
  });

  test('progress is stored, exported, and survives a server restart', async () => {
    const progress = await (await fetch(`${berth.origin}/api/progress`, { headers: { cookie } })).json();
    assert.deepEqual(progress.lessons['90-practice'], { passed: 2, total: 2, graded: false });
    const exported = await fetch(`${berth.origin}/api/progress/export`, { headers: { cookie } });
    assert.match(exported.headers.get('content-disposition') ?? '', /attachment/);
    const body = await exported.json();
    assert.deepEqual(body.exercises.map((e: { exercise: string }) => e.exercise).sort(), ['make-note', 'run-greeter']);

    term.close();
    await berth.stop();
    berth = await startTestBerth({ ...config, port: 0 });
    const again = await (await fetch(`${berth.origin}/api/progress`, { headers: { cookie } })).json();
    assert.deepEqual(again.lessons['90-practice'], { passed: 2, total: 2, graded: false });
    term = new TestTerminal(berth.origin, { cookie, hello: { cols: 100, rows: 30, lesson: '90-practice', lang: 'ko' } });
    await term.until(() => latestExercises(term) !== undefined, 5000, 'the exercises message');
    assert.deepEqual(latestExercises(term)!.items.map((i) => i.status), ['passed', 'passed'], 'green straight away after a restart');
    assert.equal(latestExercises(term)!.items[0]!.success, '잘했어요', 'in the page language');
  });

  test('hints come one at a time; the solution only after enough of them', async () => {
    term.close();
    const other = await newLearner(berth);
    term = new TestTerminal(berth.origin, { cookie: other, hello: { cols: 100, rows: 30, lesson: '90-practice', lang: 'en' } });
    await term.until(() => latestExercises(term) !== undefined, 5000, 'the exercises message');
    term.control({ t: 'solution', exercise: 'run-greeter' });
    term.control({ t: 'hint', exercise: 'run-greeter' });
    await term.until(() => latestExercises(term)!.items[0]!.hintsUsed === 1, 5000, 'one hint');
    let state = latestExercises(term)!.items[0]!;
    assert.deepEqual(state.hints, ['Use docker run --name']);
    assert.equal(state.solution, undefined, 'asking too early revealed nothing');
    assert.equal(state.canRevealSolution, false);
    term.control({ t: 'hint', exercise: 'run-greeter' });
    term.control({ t: 'hint', exercise: 'run-greeter' });
    await term.until(() => latestExercises(term)!.items[0]!.canRevealSolution, 5000, 'the solution to become available');
    term.control({ t: 'solution', exercise: 'run-greeter' });
    await term.until(() => latestExercises(term)!.items[0]!.solution !== undefined, 5000, 'the solution');
    state = latestExercises(term)!.items[0]!;
    assert.equal(state.hintsUsed, 2, 'capped at the number of hints');
    assert.equal(state.solution, 'docker run --name greeter hello-world');
    const body = await (await fetch(`${berth.origin}/api/progress/export`, { headers: { cookie: other } })).json();
    const row = body.exercises.find((e: { exercise: string }) => e.exercise === 'run-greeter');
    assert.equal(row.hintsUsed, 2);
    assert.ok(row.solutionRevealedAt, 'revealing is recorded');
  });

  test('graded: no hints or solutions, a hung check is a timeout, and the score is recorded', async () => {
    term.close();
    const g = await newLearner(berth);
    term = new TestTerminal(berth.origin, { cookie: g, hello: { cols: 100, rows: 30, lesson: '91-graded', lang: 'en' } });
    await term.waitForState('ready', 90_000);
    term.control({ t: 'hint', exercise: 'net' });
    term.control({ t: 'solution', exercise: 'net' });
    await term.run('docker network create graded-net >/dev/null');
    await waitForExercise(term, 'net', 'passed');
    const hang = await waitForExercise(term, 'hang', 'timeout', 40_000);
    assert.match(hang.feedback ?? '', /too long/);
    const msg = latestExercises(term)!;
    assert.equal(msg.graded, true);
    assert.deepEqual(msg.score, { passed: 1, total: 2 });
    for (const item of msg.items) {
      assert.equal(item.hintsTotal, 0);
      assert.equal(item.canRevealSolution, false);
      assert.equal(item.solution, undefined);
    }
    const progress = await (await fetch(`${berth.origin}/api/progress`, { headers: { cookie: g } })).json();
    assert.deepEqual(progress.lessons['91-graded'], { passed: 1, total: 2, graded: true, score: { passed: 1, total: 2 } });
    // The evidence behind the grade: what the check observed, shown to the learner and exported.
    const net = msg.items.find((i) => i.id === 'net')!;
    assert.equal(net.evidence?.checks.length, 1);
    assert.equal(net.evidence!.checks[0]!.type, 'network_exists');
    assert.match(net.evidence!.checks[0]!.observed, /^network graded-net: driver bridge/);
    assert.ok(Math.abs(net.evidence!.at - net.passedAt!) < 5000, 'recorded when it passed');
    assert.equal(msg.items.find((i) => i.id === 'hang')!.evidence, undefined, 'nothing for what did not pass');
    const exported = await (await fetch(`${berth.origin}/api/progress/export`, { headers: { cookie: g } })).json();
    assert.deepEqual(exported.evidence.map((e: { exercise: string }) => e.exercise), ['net']);
    assert.match(exported.evidence[0].checks[0].observed, /network graded-net/);
  });

  test('quizzes are graded by the server, explained, and recorded', async () => {
    term.close();
    const q = await newLearner(berth);
    term = new TestTerminal(berth.origin, { cookie: q, hello: { cols: 100, rows: 30, lesson: '92-quiz', lang: 'en' } });
    await term.until(() => latestExercises(term) !== undefined, 5000, 'the exercises message');
    const before = latestExercises(term)!.quizzes[0]!;
    assert.deepEqual(before, { id: 'basics', passed: false, attempts: 0 }, 'nothing about the answers before answering');
    term.control({ t: 'quiz', quiz: 'basics', answers: [[0], [0]] });
    await term.until(() => latestExercises(term)!.quizzes[0]!.attempts === 1, 5000, 'a graded answer');
    let state = latestExercises(term)!.quizzes[0]!;
    assert.equal(state.passed, false);
    assert.deepEqual(state.correct, [true, false]);
    assert.deepEqual(state.explanations, ['They share the kernel', 'pid and cgroup']);
    term.control({ t: 'quiz', quiz: 'basics', answers: [[0], [1, 0]] });
    await term.until(() => latestExercises(term)!.quizzes[0]!.passed, 5000, 'a pass');
    state = latestExercises(term)!.quizzes[0]!;
    assert.equal(state.attempts, 2);
    const progress = await (await fetch(`${berth.origin}/api/progress`, { headers: { cookie: q } })).json();
    assert.deepEqual(progress.lessons['92-quiz'], { passed: 1, total: 1, graded: false });
  });

  test('graded quizzes: a fixed number of submissions, the last one counts, no verdict before it', async () => {
    term.close();
    const g = await newLearner(berth);
    term = new TestTerminal(berth.origin, { cookie: g, hello: { cols: 100, rows: 30, lesson: '93-graded-quiz', lang: 'en' } });
    await term.until(() => latestExercises(term) !== undefined, 5000, 'the exercises message');
    const quiz = (id: string) => latestExercises(term)!.quizzes.find((q) => q.id === id)!;
    assert.deepEqual(quiz('twice'), { id: 'twice', passed: false, attempts: 0, submissionsLeft: 2 });
    assert.equal(quiz('once').submissionsLeft, 1, 'one submission unless the lesson says otherwise');

    term.control({ t: 'quiz', quiz: 'twice', answers: [[1]] }); // wrong
    await term.until(() => quiz('twice').attempts === 1, 5000, 'the first submission');
    assert.deepEqual(quiz('twice'), { id: 'twice', passed: false, attempts: 1, answers: [[1]], submissionsLeft: 1 }, 'no verdict while one is left');
    assert.deepEqual(latestExercises(term)!.score, { passed: 0, total: 2 });
    term.control({ t: 'quiz', quiz: 'twice', answers: [[0]] }); // right, and the last
    await term.until(() => quiz('twice').attempts === 2, 5000, 'the last submission');
    assert.deepEqual(quiz('twice'), { id: 'twice', passed: true, attempts: 2, answers: [[0]], correct: [true], submissionsLeft: 0 });
    term.control({ t: 'quiz', quiz: 'twice', answers: [[1]] }); // none left: ignored
    term.control({ t: 'quiz', quiz: 'once', answers: [[1]] }); // wrong, and final at once
    await term.until(() => quiz('once').attempts === 1, 5000, 'the only submission');
    assert.deepEqual(quiz('once'), { id: 'once', passed: false, attempts: 1, answers: [[1]], correct: [false], submissionsLeft: 0 });
    assert.equal(quiz('twice').attempts, 2, 'a submission past the limit is not recorded');
    assert.equal(quiz('twice').passed, true);
    const progress = await (await fetch(`${berth.origin}/api/progress`, { headers: { cookie: g } })).json();
    assert.deepEqual(progress.lessons['93-graded-quiz'].score, { passed: 1, total: 2 });
  });

  test('resetting progress needs our Origin', async () => {
    const forged = await fetch(`${berth.origin}/api/progress/reset`, { method: 'POST', headers: { cookie, origin: 'http://evil.example' } });
    assert.equal(forged.status, 403);
    const ok = await fetch(`${berth.origin}/api/progress/reset`, { method: 'POST', headers: { cookie, origin: berth.origin } });
    assert.equal(ok.status, 204);
    const progress = await (await fetch(`${berth.origin}/api/progress`, { headers: { cookie } })).json();
    assert.deepEqual(progress.lessons['90-practice'], { passed: 0, total: 2, graded: false });
    assert.equal((await fetch(`${berth.origin}/api/progress`)).status, 401);
  });
});
