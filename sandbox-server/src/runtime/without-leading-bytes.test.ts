import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Duplex } from 'node:stream';
import { WithoutLeadingBytes } from './docker.ts';

const CLEAR = Buffer.from('\x1b[H\x1b[J');

/** A fake socket: what the test writes to `incoming` is read from it; writes to it land in `written`. */
function fakeSocket() {
  const incoming = new PassThrough();
  const written: Buffer[] = [];
  const raw = Duplex.from({ readable: incoming, writable: new PassThrough().on('data', (d: Buffer) => written.push(d)) });
  return { raw, incoming, written };
}

async function readAll(stream: Duplex): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString();
}

test('drops the prefix, even when it arrives split across chunks', async () => {
  const { raw, incoming } = fakeSocket();
  const s = new WithoutLeadingBytes(raw, CLEAR);
  incoming.write('\x1b[H');
  incoming.write('\x1b[Jhello ');
  incoming.end('world');
  assert.equal(await readAll(s), 'hello world');
});

test('keeps output that does not start with the prefix, and later copies of it', async () => {
  const { raw, incoming } = fakeSocket();
  const s = new WithoutLeadingBytes(raw, CLEAR);
  incoming.write('\x1b[Hx');
  incoming.end(CLEAR);
  assert.equal(await readAll(s), '\x1b[Hx\x1b[H\x1b[J');
});

test('writes go to the socket; destroy ends both without an error', async () => {
  const { raw, written } = fakeSocket();
  const s = new WithoutLeadingBytes(raw, CLEAR);
  let error: Error | undefined;
  s.on('error', (err) => (error = err));
  await new Promise<void>((resolve) => s.write('ls\r', () => resolve()));
  assert.equal(Buffer.concat(written).toString(), 'ls\r');
  s.destroy();
  await new Promise((r) => setImmediate(r));
  assert.equal(raw.destroyed, true);
  assert.equal(error, undefined);
});
