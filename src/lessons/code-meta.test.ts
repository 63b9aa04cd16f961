import { test } from 'node:test';
import assert from 'node:assert/strict';
import { languageOfFile, parseCodeMeta, summarizeCommand } from './code-meta.ts';

test('meta flags', () => {
  assert.deepEqual(parseCodeMeta('run'), { run: true, expectFail: false });
  assert.deepEqual(parseCodeMeta(' run  expect-fail '), { run: true, expectFail: true });
  assert.deepEqual(parseCodeMeta(undefined), { run: false, expectFail: false });
  assert.deepEqual(parseCodeMeta('title="x" running'), { run: false, expectFail: false });
});

test('command summary for accessible names', () => {
  assert.equal(summarizeCommand('docker version\n'), 'docker version');
  assert.equal(summarizeCommand('whoami\nid -u'), 'whoami …');
  assert.equal(summarizeCommand('x'.repeat(100)).length, 80);
});

test('language from the file name', () => {
  assert.equal(languageOfFile('/a/content/lessons/00-welcome/en.mdx'), 'en');
  assert.equal(languageOfFile('/a/content/lessons/00-welcome/ko.mdx'), 'ko');
  assert.equal(languageOfFile(undefined), 'ko');
});
