import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clipboardActionFor, sanitizePaste } from './clipboard.ts';

test('bracketed-paste markers are stripped, even when nested', () => {
  assert.equal(sanitizePaste('echo hi\x1b[201~\rrm -rf ~\r'), 'echo hi\rrm -rf ~\r');
  assert.equal(sanitizePaste('\x1b[200~x\x1b[201~'), 'x');
  assert.equal(sanitizePaste('\x1b[20\x1b[201~1~evil'), 'evil');
  assert.equal(sanitizePaste('한글 \x1b[31mred'), '한글 \x1b[31mred');
});

const key = (k: string, mods: Partial<Record<'ctrlKey' | 'shiftKey' | 'altKey' | 'metaKey', boolean>> = {}) => ({
  type: 'keydown',
  key: k,
  code: `Key${k.toUpperCase()}`,
  ctrlKey: false,
  shiftKey: false,
  altKey: false,
  metaKey: false,
  ...mods,
});

test('Linux/Windows: Ctrl+V and Ctrl+Shift+V paste; Ctrl+C copies only a selection, else stays SIGINT', () => {
  assert.equal(clipboardActionFor(key('C', { ctrlKey: true, shiftKey: true }), false), 'copy');
  assert.equal(clipboardActionFor(key('V', { ctrlKey: true, shiftKey: true }), false), 'paste');
  assert.equal(clipboardActionFor(key('v', { ctrlKey: true }), false), 'paste');
  assert.equal(clipboardActionFor(key('c', { ctrlKey: true }), false), null);
  assert.equal(clipboardActionFor(key('c', { ctrlKey: true }), false, true), 'copy');
  assert.equal(clipboardActionFor(key('c', { ctrlKey: true, altKey: true }), false, true), null);
  assert.equal(clipboardActionFor(key('v'), false), null);
});

test('macOS: Cmd+C/V; Ctrl+C stays SIGINT', () => {
  assert.equal(clipboardActionFor(key('c', { metaKey: true }), true), 'copy');
  assert.equal(clipboardActionFor(key('v', { metaKey: true }), true), 'paste');
  assert.equal(clipboardActionFor(key('c', { ctrlKey: true }), true), null);
  assert.equal(clipboardActionFor(key('c', { ctrlKey: true }), true, true), null);
  assert.equal(clipboardActionFor(key('v', { ctrlKey: true }), true), null);
  assert.equal(clipboardActionFor({ ...key('c', { metaKey: true }), type: 'keyup' }, true), null);
});
