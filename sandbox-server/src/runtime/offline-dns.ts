/**
 * The name server sandboxes get when they may not reach the outside (egress `off`
 * or `registry`): it answers every query "no such name" at once.
 *
 * Why: Docker's embedded DNS (127.0.0.11 in each sandbox) forwards names it does not
 * know to the host's resolvers, and when the firewall refuses that, it never answers:
 * every lookup of an outside name (the nested engine falling back to Docker Hub for an
 * image the catalog lacks, `curl example.com`) hangs 20 s before failing. The firewall
 * redirects sandboxes' DNS here instead (runtime/firewall.ts), so the learner sees what
 * a machine without internet shows: `lookup registry-1.docker.io ...: no such host`.
 * It also closes DNS as a way out: no query leaves the host.
 */
import { createSocket, type Socket } from 'node:dgram';

const HEADER = 12;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;

/** The reply to one DNS query (RFC 1035 4.1): its header and question, no answer; null for what is not a query. */
export function nxdomainReply(query: Buffer): Buffer | null {
  if (query.length < HEADER) return null;
  const flags = query.readUInt16BE(2);
  if (flags & 0x8000) return null; // a response, not a query
  const opcode = (flags >> 11) & 0xf;
  const qdcount = query.readUInt16BE(4);
  // The question section: QNAME labels up to the root label, then QTYPE and QCLASS.
  let end = HEADER;
  if (opcode === 0 && qdcount === 1) {
    while (end < query.length && query[end] !== 0) {
      if ((query[end]! & 0xc0) !== 0) return null; // no compression in a question
      end += query[end]! + 1;
    }
    end += 1 + 4;
    if (end > query.length) return null;
  }
  const question = end > HEADER ? query.subarray(HEADER, end) : Buffer.alloc(0);
  const reply = Buffer.alloc(HEADER + question.length);
  query.copy(reply, 0, 0, 2); // the query's ID
  const rcode = opcode === 0 && question.length > 0 ? RCODE_NXDOMAIN : RCODE_NOTIMP;
  // QR (a response), the query's opcode and RD, RA, and the code.
  reply.writeUInt16BE(0x8000 | (opcode << 11) | (flags & 0x0100) | 0x0080 | rcode, 2);
  reply.writeUInt16BE(question.length > 0 ? 1 : 0, 4);
  question.copy(reply, HEADER);
  return reply;
}

export interface OfflineDns {
  /** The UDP port it listens on (at the sandbox bridge's gateway address). */
  port: number;
  close(): Promise<void>;
}

/** Listens on address (the sandbox bridge's gateway, an address of this host) at a free UDP port. */
export async function startOfflineDns(address: string): Promise<OfflineDns> {
  const socket: Socket = createSocket('udp4');
  socket.on('message', (msg, from) => {
    const reply = nxdomainReply(msg);
    if (reply) socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => {}); // a send to a vanished client: nothing to do
  socket.unref();
  return {
    port: socket.address().port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
