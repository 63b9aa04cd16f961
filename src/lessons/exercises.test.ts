import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exerciseTotals, lessonExerciseInfo, lessonSlugFromPath, validateLessonExercises } from './exercises.ts';

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
  - id: second
    title: { ko: 둘째 과제, en: Second task }
    checks:
      - type: command_ran
        pattern: docker +info
    solution: docker info
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
    });
    assert.equal(lessonExerciseInfo(files, '01-a', 'ko').exercises[0]!.title, '첫 과제');
    assert.doesNotMatch(JSON.stringify(en), /Hint one|docker run/);
    assert.deepEqual(lessonExerciseInfo(files, '02-b', 'ko'), { slug: '02-b', graded: false, exercises: [] });
    assert.deepEqual(exerciseTotals(root), { '01-a': { total: 2, graded: false } });
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
