import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CappedLines } from './capped-lines.ts';

test('lines split across chunks come out whole', () => {
  const lines: string[] = [];
  const r = new CappedLines(20, (l) => lines.push(l));
  assert.equal(r.push(Buffer.from('contai')), true);
  assert.equal(r.push(Buffer.from('ner\nnetwork\nvol')), true);
  assert.equal(r.push(Buffer.from('ume\n')), true);
  assert.deepEqual(lines, ['container', 'network', 'volume']);
});

test('a line past the cap stops the reader, whether it arrives whole or in pieces', () => {
  for (const chunks of [['x'.repeat(21) + '\n'], ['x'.repeat(15), 'x'.repeat(15)], ['ok\n' + 'y'.repeat(30)]]) {
    const lines: string[] = [];
    const r = new CappedLines(20, (l) => lines.push(l));
    const results = chunks.map((c) => r.push(Buffer.from(c)));
    assert.equal(results.at(-1), false, JSON.stringify(chunks));
    assert.equal(r.push(Buffer.from('later\n')), false, 'and stays stopped');
    assert.ok(!lines.some((l) => l.length > 20));
  }
});

test('a stream of 100 MB without a newline is refused at its first chunk past the cap', () => {
  const r = new CappedLines(256, () => {});
  const chunk = Buffer.alloc(64 * 1024, 'a');
  let pushed = 0;
  while (pushed < 100 * 1024 * 1024 && r.push(chunk)) pushed += chunk.length;
  assert.equal(pushed, 0, 'the first 64 KiB chunk already passes a 256-byte cap');
});
