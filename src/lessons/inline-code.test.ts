import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitInlineCode } from './inline-code.ts';

test('backticks become code runs', () => {
  assert.deepEqual(splitInlineCode('Run `docker version` now'), [
    { code: false, text: 'Run ' },
    { code: true, text: 'docker version' },
    { code: false, text: ' now' },
  ]);
  assert.deepEqual(splitInlineCode('`a`'), [{ code: true, text: 'a' }]);
  assert.deepEqual(splitInlineCode('plain <b>text</b>'), [{ code: false, text: 'plain <b>text</b>' }]);
  assert.deepEqual(splitInlineCode(''), []);
});

test('an unmatched backtick stays text', () => {
  assert.deepEqual(splitInlineCode('a `b` c `d'), [
    { code: false, text: 'a ' },
    { code: true, text: 'b' },
    { code: false, text: ' c `d' },
  ]);
});
