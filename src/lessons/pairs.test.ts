import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLessonOrder, checkLessonTree, listLessonFiles } from './pairs.ts';
import { fileURLToPath } from 'node:url';

const tree = (entries: Record<string, string[]>) => new Map(Object.entries(entries));

test('a lesson in both languages passes', () => {
  assert.deepEqual(checkLessonTree(tree({ '00-welcome': ['en.mdx', 'ko.mdx'] })), []);
});

test('other files in a lesson folder (exercises) are ignored', () => {
  const files = listLessonFiles(fileURLToPath(new URL('../../content/lessons/', import.meta.url)));
  assert.ok(files.size > 0);
  assert.deepEqual(checkLessonTree(files), []);
});

test('a lesson in only one language fails, naming the file and the missing one', () => {
  const errors = checkLessonTree(tree({ '01-vms': ['ko.mdx'] }));
  assert.equal(errors.length, 1);
  assert.match(errors[0] ?? '', /content\/lessons\/01-vms\/ko\.mdx has no English version/);
  assert.match(errors[0] ?? '', /add content\/lessons\/01-vms\/en\.mdx/);
});

test('an unexpected language file and a badly named folder fail', () => {
  const errors = checkLessonTree(tree({ welcome: ['ko.mdx', 'en.mdx', 'fr.mdx'] }));
  assert.ok(errors.some((e) => /content\/lessons\/welcome: a lesson folder must be named NN-slug/.test(e)));
  assert.ok(errors.some((e) => /welcome\/fr\.mdx: unexpected lesson file/.test(e)));
});

test('order must match the folder number', () => {
  const errors = checkLessonOrder([
    { folder: '00-welcome', lang: 'ko', order: 0 },
    { folder: '00-welcome', lang: 'en', order: 1 },
  ]);
  assert.equal(errors.length, 1);
  assert.match(errors[0] ?? '', /00-welcome\/en\.mdx: "order" is 1 but the folder says 0/);
});
