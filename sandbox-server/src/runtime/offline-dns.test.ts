import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { nxdomainReply, startOfflineDns } from './offline-dns.ts';

/** A standard query for name (type A, class IN, recursion desired), as a stub resolver sends it. */
function query(id: number, name: string): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // one question
  return Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])]);
}

test('a query gets "no such name" with its ID and question, and no answer', () => {
  const q = query(0xbeef, 'registry-1.docker.io');
  const reply = nxdomainReply(q)!;
  assert.equal(reply.readUInt16BE(0), 0xbeef);
  const flags = reply.readUInt16BE(2);
  assert.ok(flags & 0x8000, 'QR: a response');
  assert.equal(flags & 0x0100, 0x0100, 'RD echoed');
  assert.equal(flags & 0xf, 3, 'NXDOMAIN');
  assert.deepEqual([reply.readUInt16BE(4), reply.readUInt16BE(6), reply.readUInt16BE(8), reply.readUInt16BE(10)], [1, 0, 0, 0]);
  assert.deepEqual(reply.subarray(12), q.subarray(12), 'the question, unchanged');
});

test('responses, truncated packets and other opcodes are not answered as names', () => {
  const q = query(1, 'example.com');
  const response = Buffer.from(q);
  response[2]! |= 0x80;
  assert.equal(nxdomainReply(response), null);
  assert.equal(nxdomainReply(q.subarray(0, 8)), null);
  assert.equal(nxdomainReply(q.subarray(0, q.length - 2)), null, 'question cut short');
  const notify = Buffer.from(q);
  notify.writeUInt16BE(4 << 11, 2); // NOTIFY
  assert.equal(nxdomainReply(notify)!.readUInt16BE(2) & 0xf, 4, 'NOTIMP');
});

test('the server answers over UDP', async () => {
  const server = await startOfflineDns('127.0.0.1');
  const client = createSocket('udp4');
  try {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      client.once('message', resolve);
      client.once('error', reject);
      client.send(query(7, 'example.com'), server.port, '127.0.0.1');
    });
    assert.equal(reply.readUInt16BE(0), 7);
    assert.equal(reply.readUInt16BE(2) & 0xf, 3);
  } finally {
    client.close();
    await server.close();
  }
});
