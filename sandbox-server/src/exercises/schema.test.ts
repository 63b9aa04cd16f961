import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Exercise, ExerciseFile } from './schema.ts';
import { LessonError, crossCheckLesson, exerciseIdsInMdx, loadAllExercises, parseExerciseFile } from './load.ts';

const GOOD = `
exercises:
  - id: run-hello
    title: { ko: hello-world를 실행해요, en: Run hello-world }
    checks:
      - type: container_exists
        name: greeter
      - type: script
        run: test -f ~/done
        feedback: { ko: 파일이 없어요, en: The file is missing }
    hints:
      ko: [docker run을 써요]
      en: [Use docker run]
    solution: docker run --name greeter hello-world
    near_miss: "true"
`;

test('a valid file parses with defaults', () => {
  const file = parseExerciseFile(GOOD, 'x.yaml');
  assert.equal(file.graded, false);
  assert.equal(file.reveal_solution_after, 2);
  assert.equal(file.exercises[0]!.checks.length, 2);
});

test('every field of the schema is described', () => {
  for (const shape of [ExerciseFile.shape, Exercise.shape]) {
    for (const [key, field] of Object.entries(shape)) assert.ok(field.description, `${key} is described`);
  }
});

test('errors name the file, the field and the problem', () => {
  const cases: [string, RegExp][] = [
    [GOOD.replace('container_exists', 'container_explodes'), /lesson\.yaml:\n\s+exercises\[0\]\.checks\[0\]\.type: .*'container_exists' \| .*'script'/],
    [GOOD.replace('    solution: docker run --name greeter hello-world\n', ''), /exercises\[0\]\.solution/],
    [GOOD.replace('en: [Use docker run]', 'en: []'), /same count/],
    [GOOD.replace('name: greeter', 'name: "bad name"'), /checks\[0\]\.name: no spaces/],
    [GOOD + '    extra: 1\n', /exercises\[0\].*extra|Unrecognized key.*extra/s],
    [GOOD.replace('id: run-hello', 'id: Run Hello'), /exercises\[0\]\.id/],
    ['exercises: [', /not valid YAML/],
    [GOOD.replace('run: test -f ~/done', 'run: curl -s --unix-socket ~/.run/docker.sock http://x/_ping'), /checks\[1\]\.run: a check script reaches the engine only through/],
    [GOOD.replace('run: test -f ~/done', 'run: DOCKER_HOST=unix:///tmp/fake.sock docker ps'), /checks\[1\]\.run: /],
    [GOOD.replace('run: test -f ~/done', 'run: docker -H unix:///tmp/x ps'), /checks\[1\]\.run: /],
  ];
  for (const [text, pattern] of cases) {
    assert.throws(() => parseExerciseFile(text, 'lesson.yaml'), (err: Error) => {
      assert.ok(err instanceof LessonError);
      assert.match(err.message, pattern);
      assert.match(err.message, /lesson\.yaml/);
      return true;
    });
  }
});

test('duplicate ids are refused', () => {
  const twice = GOOD + GOOD.split('exercises:\n')[1]!;
  assert.throws(() => parseExerciseFile(twice, 'x.yaml'), /duplicate id "run-hello"/);
});

test('MDX cross-check: unknown ids and exercises missing from a language', () => {
  const file = parseExerciseFile(GOOD, 'x.yaml');
  assert.deepEqual(exerciseIdsInMdx('a <Exercise id="run-hello" /> b <Exercise  id=\'other\'/>'), ['run-hello', 'other']);
  assert.deepEqual(crossCheckLesson('l', file, { ko: '<Exercise id="run-hello"/>', en: '<Exercise id="run-hello"/>' }), []);
  const problems = crossCheckLesson('l', file, { ko: '<Exercise id="run-helo"/>', en: '<Exercise id="run-hello"/>' });
  assert.equal(problems.length, 2);
  assert.match(problems[0]!, /l\/ko\.mdx: <Exercise id="run-helo"\/> names no exercise/);
  assert.match(problems[1]!, /l\/ko\.mdx: exercise "run-hello" is never placed/);
});

test('loading a content tree reports every broken lesson at once', () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-lessons-'));
  try {
    const lesson = (slug: string, yaml: string | undefined, ko: string, en: string) => {
      const dir = join(root, 'lessons', slug);
      mkdirSync(dir, { recursive: true });
      if (yaml !== undefined) writeFileSync(join(dir, 'exercises.yaml'), yaml);
      writeFileSync(join(dir, 'ko.mdx'), ko);
      writeFileSync(join(dir, 'en.mdx'), en);
    };
    lesson('00-good', GOOD, '<Exercise id="run-hello"/>', '<Exercise id="run-hello"/>');
    assert.deepEqual([...loadAllExercises(root, root).keys()], ['00-good']);
    lesson('01-bad', GOOD.replace('container_exists', 'nope'), '', '');
    lesson('02-orphan', undefined, '<Exercise id="ghost"/>', '');
    assert.throws(() => loadAllExercises(root, root), (err: Error) => {
      assert.match(err.message, /lessons\/01-bad\/exercises\.yaml/);
      assert.match(err.message, /lessons\/02-orphan\/ko\.mdx: <Exercise id="ghost"\/> names no exercise .*the file is missing/);
      return true;
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('quizzes: answers must point at a choice; MDX must place them', () => {
  const quiz = `
quizzes:
  - id: kernel
    title: { ko: 커널, en: Kernel }
    questions:
      - prompt: { ko: 질문, en: Question }
        choices: [{ ko: 가, en: a }, { ko: 나, en: b }]
        answer: 1
        explanation: { ko: 설명, en: Because }
`;
  const file = parseExerciseFile(quiz, 'q.yaml');
  assert.equal(file.quizzes[0]!.questions[0]!.answer, 1);
  assert.deepEqual(file.exercises, []);
  assert.throws(() => parseExerciseFile(quiz.replace('answer: 1', 'answer: 2'), 'q.yaml'), /questions\[0\]\.answer: answer points past/);
  assert.throws(() => parseExerciseFile(quiz.replace('answer: 1', 'answer: [0, 5]'), 'q.yaml'), /answer points past/);
  assert.throws(() => parseExerciseFile('quizzes: []\n', 'q.yaml'), /at least one exercise or quiz/);
  assert.deepEqual(crossCheckLesson('l', file, { ko: '<Quiz id="kernel"/>', en: '<Quiz id="kernel" />' }), []);
  assert.match(crossCheckLesson('l', file, { ko: '<Quiz id="kernal"/>', en: '<Quiz id="kernel"/>' }).join('\n'), /<Quiz id="kernal"\/> names no quiz/);
});
