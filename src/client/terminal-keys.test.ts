import { test } from 'node:test';
import assert from 'node:assert/strict';
import { barKeyBytes, ctrlChar } from './terminal-keys.ts';

test('key bar: arrows follow the cursor key mode, Ctrl+arrow is CSI 1;5', () => {
  assert.equal(barKeyBytes('up', false, false), '\x1b[A');
  assert.equal(barKeyBytes('left', false, true), '\x1bOD');
  assert.equal(barKeyBytes('right', true, false), '\x1b[1;5C');
  assert.equal(barKeyBytes('esc', false, false), '\x1b');
  assert.equal(barKeyBytes('tab', false, false), '\t');
  assert.equal(barKeyBytes('ctrl-c', false, false), '\x03');
  assert.equal(barKeyBytes('ctrl-d', false, false), '\x04');
});

test('sticky Ctrl: letters become control characters, either case; others as terminals do', () => {
  assert.equal(ctrlChar('c'), '\x03');
  assert.equal(ctrlChar('C'), '\x03');
  assert.equal(ctrlChar('a'), '\x01');
  assert.equal(ctrlChar('['), '\x1b');
  assert.equal(ctrlChar(' '), '\x00');
  assert.equal(ctrlChar('1'), undefined);
  assert.equal(ctrlChar('ab'), undefined);
  assert.equal(ctrlChar('한'), undefined);
});
