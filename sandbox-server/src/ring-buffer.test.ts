import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RingBuffer } from './ring-buffer.ts';

test('keeps everything below capacity', () => {
  const r = new RingBuffer(100);
  r.push(Buffer.from('hello '));
  r.push(Buffer.from('world'));
  assert.equal(r.contents().toString(), 'hello world');
  assert.equal(r.byteLength, 11);
});

test('drops the oldest bytes and restarts at a line boundary', () => {
  const r = new RingBuffer(16);
  r.push(Buffer.from('line-one\n'));
  r.push(Buffer.from('line-two\n'));
  r.push(Buffer.from('line-3\n'));
  assert.ok(r.byteLength <= 16);
  assert.equal(r.contents().toString(), 'line-3\n');
});

test('a chunk bigger than the ring keeps only its tail', () => {
  const r = new RingBuffer(10);
  r.push(Buffer.from('0123456789\nabcdefghij'));
  assert.equal(r.byteLength, 10);
  assert.equal(r.contents().toString(), '');
  r.push(Buffer.from('\nok'));
  assert.equal(r.contents().toString(), 'ok');
});

test('memory stays bounded under a flood', () => {
  const r = new RingBuffer(64 * 1024);
  const chunk = Buffer.alloc(4096, 'y\n');
  for (let i = 0; i < 10_000; i++) r.push(chunk);
  assert.equal(r.byteLength, 64 * 1024);
  r.clear();
  assert.equal(r.byteLength, 0);
  assert.equal(r.contents().length, 0);
});
