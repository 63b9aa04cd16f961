import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lessonFrontmatter, parseLessonFrontmatter } from './schema.ts';

const valid = {
  title: '시작하기: 터미널과 샌드박스',
  description: '오른쪽 터미널이 무엇인지 알아봐요.',
  order: 0,
  minutes: 15,
  goals: ['docker version을 실행해요.'],
};

test('valid frontmatter passes', () => {
  const result = parseLessonFrontmatter(valid, 'content/lessons/00-welcome/ko.mdx');
  assert.equal(result.ok, true);
  if (result.ok) assert.deepEqual(result.value, valid);
});

test('minutes is optional', () => {
  const { minutes: _omit, ...rest } = valid;
  assert.equal(parseLessonFrontmatter(rest, 'x.mdx').ok, true);
});

test('a missing title fails and names the field and the file', () => {
  const { title: _omit, ...rest } = valid;
  const result = parseLessonFrontmatter(rest, 'content/lessons/00-welcome/en.mdx');
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.match(result.error, /content\/lessons\/00-welcome\/en\.mdx/);
    assert.match(result.error, /"title" is required/);
  }
});

test('an unknown field fails and is named', () => {
  const result = parseLessonFrontmatter({ ...valid, titel: 'typo' }, 'a/ko.mdx');
  assert.equal(result.ok, false);
  if (!result.ok) assert.match(result.error, /unknown field "titel"/);
});

test('wrong types and ranges are reported per field', () => {
  const result = parseLessonFrontmatter({ ...valid, order: -1, goals: [] }, 'a/ko.mdx');
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.match(result.error, /"order"/);
    assert.match(result.error, /"goals"/);
  }
});

test('every field is described', () => {
  for (const [name, field] of Object.entries(lessonFrontmatter.shape)) {
    assert.ok(field.description && field.description.length > 10, `field "${name}" needs .describe()`);
  }
});
