import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exerciseTotals, lessonExerciseInfo, lessonSlugFromPath, lessonTasks, validateLessonExercises } from './exercises.ts';

const YAML = `
exercises:
  - id: first
    title: { ko: 첫 과제, en: First task }
    checks:
      - type: container_exists
        name: web
    hints:
      ko: [힌트 하나, 힌트 둘]
      en: [Hint one, Hint two]
    solution: docker run --name web hello-world
    near_miss: "true"
  - id: second
    title: { ko: 둘째 과제, en: Second task }
    checks:
      - type: command_ran
        pattern: docker +info
    solution: docker info
    near_miss: "true"
`;

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'berth-site-ex-'));
  for (const [path, text] of Object.entries(files)) {
    const full = join(root, 'content', 'lessons', path);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, text);
  }
  return root;
}

const both = '<Exercise id="first" />\n\n<Exercise id="second"/>\n';

test('a valid lesson: titles per language, hint counts, totals; no hint or solution text', () => {
  const root = tree({ '01-a/exercises.yaml': YAML, '01-a/ko.mdx': both, '01-a/en.mdx': both, '02-b/ko.mdx': 'x', '02-b/en.mdx': 'x' });
  try {
    const files = validateLessonExercises(root);
    const en = lessonExerciseInfo(files, '01-a', 'en');
    assert.deepEqual(en, {
      slug: '01-a',
      graded: false,
      exercises: [
        { id: 'first', number: 1, title: 'First task', hintsTotal: 2 },
        { id: 'second', number: 2, title: 'Second task', hintsTotal: 0 },
      ],
      quizzes: [],
    });
    assert.equal(lessonExerciseInfo(files, '01-a', 'ko').exercises[0]!.title, '첫 과제');
    assert.doesNotMatch(JSON.stringify(en), /Hint one|docker run/);
    assert.deepEqual(lessonExerciseInfo(files, '02-b', 'ko'), { slug: '02-b', graded: false, exercises: [], quizzes: [] });
    assert.deepEqual(exerciseTotals(root), { '01-a': { total: 2, graded: false } });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const QUIZ_YAML = `
quizzes:
  - id: basics
    title: { ko: 기본 퀴즈, en: Basics quiz }
    questions:
      - prompt: { ko: 이미지는?, en: What is an image? }
        choices:
          - { ko: 틀, en: A template }
          - { ko: 프로세스, en: A process }
        answer: 0
        explanation: { ko: SECRET-KO 이미지는 틀이에요, en: SECRET-EN an image is a template }
      - prompt: { ko: 맞는 것을 모두, en: 'Pick all that are true: \`docker ps\`' }
        choices: [{ ko: 가, en: A }, { ko: 나, en: B }, { ko: 다, en: C }]
        answer: [2]
        explanation: { ko: SECRET-KO2, en: SECRET-EN2 }
`;

test('quizzes: prompts, choices and single/multiple per language; never answers or explanations; counted in totals', () => {
  const mdx = both + '\n<Quiz id="basics" />\n';
  const root = tree({ '01-a/exercises.yaml': YAML + QUIZ_YAML, '01-a/ko.mdx': mdx, '01-a/en.mdx': mdx });
  try {
    const files = validateLessonExercises(root);
    const en = lessonExerciseInfo(files, '01-a', 'en');
    assert.deepEqual(en.quizzes, [
      {
        id: 'basics',
        number: 1,
        title: 'Basics quiz',
        questions: [
          { prompt: 'What is an image?', choices: ['A template', 'A process'], multiple: false },
          { prompt: 'Pick all that are true: `docker ps`', choices: ['A', 'B', 'C'], multiple: true },
        ],
      },
    ]);
    assert.equal(lessonExerciseInfo(files, '01-a', 'ko').quizzes[0]!.questions[0]!.choices[1], '프로세스');
    const text = JSON.stringify([en, lessonExerciseInfo(files, '01-a', 'ko')]);
    assert.doesNotMatch(text, /SECRET|answer|explanation/);
    assert.deepEqual(exerciseTotals(root), { '01-a': { total: 3, graded: false } });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('graded lessons report no hints', () => {
  const root = tree({ '09-x/exercises.yaml': `graded: true\n${YAML}`, '09-x/ko.mdx': both, '09-x/en.mdx': both });
  try {
    const info = lessonExerciseInfo(validateLessonExercises(root), '09-x', 'ko');
    assert.equal(info.graded, true);
    assert.deepEqual(info.exercises.map((e) => e.hintsTotal), [0, 0]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('broken lessons fail with the file, the field and the problem', () => {
  const cases: [Record<string, string>, RegExp[]][] = [
    [
      { '01-a/exercises.yaml': YAML.replace('container_exists', 'container_explodes'), '01-a/ko.mdx': both, '01-a/en.mdx': both },
      [/content\/lessons\/01-a\/exercises\.yaml/, /exercises\[0\]\.checks\[0\]/],
    ],
    [
      { '01-a/exercises.yaml': YAML, '01-a/ko.mdx': both.replace('"first"', '"frist"'), '01-a/en.mdx': both },
      [/content\/lessons\/01-a\/ko\.mdx: <Exercise id="frist"\/> names no exercise/, /exercise "first" is never placed/],
    ],
    [
      { '01-a/exercises.yaml': YAML, '01-a/ko.mdx': both, '01-a/en.mdx': '<Exercise id="first" />' },
      [/content\/lessons\/01-a\/en\.mdx: exercise "second" is never placed/],
    ],
    [
      { '01-a/exercises.yaml': YAML.replace('en: [Hint one, Hint two]', 'en: [Hint one]'), '01-a/ko.mdx': both, '01-a/en.mdx': both },
      [/exercises\[0\]\.hints: hints need the same count/],
    ],
    [{ '01-a/ko.mdx': both, '01-a/en.mdx': both }, [/ko\.mdx: <Exercise id="first"\/> names no exercise.*the file is missing/]],
  ];
  for (const [files, patterns] of cases) {
    const root = tree(files);
    try {
      assert.throws(
        () => validateLessonExercises(root),
        (err: Error) => {
          assert.match(err.message, /^Lesson exercises are invalid/);
          for (const p of patterns) assert.match(err.message, p);
          return true;
        },
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
});

test('lesson slug from a page path', () => {
  assert.equal(lessonSlugFromPath('/lessons/00-welcome/'), '00-welcome');
  assert.equal(lessonSlugFromPath('/en/lessons/03-images'), '03-images');
  assert.equal(lessonSlugFromPath('/en/lessons/03-images/index.html'), '03-images');
  assert.equal(lessonSlugFromPath('/en/'), undefined);
});

test('lesson tasks follow the order the MDX places them in', () => {
  const info = {
    slug: 'x',
    graded: false,
    exercises: [
      { id: 'a', number: 1, title: 'A', hintsTotal: 0 },
      { id: 'b', number: 2, title: 'B', hintsTotal: 0 },
    ],
    quizzes: [{ id: 'a', number: 1, title: 'Quiz A', questions: [] }],
  };
  const mdx = 'text\n<Exercise id="b" />\n<Quiz id="a"/>\n<Exercise  id=\'a\' />';
  assert.deepEqual(lessonTasks(info, mdx).map((t) => `${t.kind}:${t.id}`), ['exercise:b', 'quiz:a', 'exercise:a']);
  assert.deepEqual(lessonTasks(info).map((t) => `${t.kind}:${t.id}`), ['exercise:a', 'exercise:b', 'quiz:a'], 'no text: file order');
});
