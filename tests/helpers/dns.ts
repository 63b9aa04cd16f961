/**
 * A minimal DNS client for tests (RFC 1035 wire format): sends one query over UDP or
 * TCP and returns the reply's header fields, so a test can check what a name server
 * answered (NXDOMAIN, no answer records) without dig on the host.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

export const TYPE = { A: 1, NS: 2, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, ANY: 255 } as const;

/** A standard query for name (class IN, recursion desired), as a stub resolver sends it. */
export function dnsQuery(id: number, name: string, type: number = TYPE.A): Buffer {
  const labels = name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // one question
  const tail = Buffer.alloc(5);
  tail.writeUInt16BE(type, 1);
  tail.writeUInt16BE(1, 3); // IN
  return Buffer.concat([header, ...labels, tail]);
}

export interface DnsReply {
  id: number;
  response: boolean;
  /** 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED... */
  rcode: number;
  questions: number;
  answers: number;
  /** The question section as sent back. */
  question: Buffer;
}

export function parseReply(reply: Buffer, questionLength: number): DnsReply {
  if (reply.length < 12) throw new Error(`a DNS reply of ${reply.length} bytes`);
  const flags = reply.readUInt16BE(2);
  return {
    id: reply.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    rcode: flags & 0xf,
    questions: reply.readUInt16BE(4),
    answers: reply.readUInt16BE(6),
    question: reply.subarray(12, 12 + questionLength),
  };
}

/** Sends query to host:port over UDP or TCP; rejects after timeoutMs. */
export function ask(proto: 'udp' | 'tcp', host: string, port: number, query: Buffer, timeoutMs = 3000): Promise<DnsReply> {
  const qlen = query.length - 12;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no DNS reply over ${proto} from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    let done = () => clearTimeout(timer);
    if (proto === 'udp') {
      const socket = createSocket('udp4');
      done = () => {
        clearTimeout(timer);
        socket.close();
      };
      socket.once('error', (err) => (done(), reject(err)));
      socket.once('message', (msg) => (done(), resolve(parseReply(msg, qlen))));
      socket.send(query, port, host);
      return;
    }
    const socket = connect(port, host);
    done = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    let got = Buffer.alloc(0);
    socket.once('error', (err) => (done(), reject(err)));
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        done();
        resolve(parseReply(got.subarray(2, 2 + got.readUInt16BE(0)), qlen));
      }
    });
    const length = Buffer.alloc(2);
    length.writeUInt16BE(query.length);
    socket.write(Buffer.concat([length, query]));
  });
}
