// Test-only (not exported): a tiny UDP DNS server on 127.0.0.1 for what dnsmasq cannot be told to
// do per record type, such as answering A while AAAA gets SERVFAIL or no answer at all.

import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { isIP } from 'node:net';

/** Addresses to answer with, or `servfail` (rcode 2), `refused` (rcode 5), `drop` (never answer). */
export type StubAnswer = readonly string[] | 'servfail' | 'refused' | 'drop';

export interface DnsStubServer {
  /** `127.0.0.1:port`, for `dns({ servers: [server] })`. */
  readonly server: string;
  /** What A and AAAA queries for any name get; change them at any time. Missing: NODATA. */
  answers: { A?: StubAnswer; AAAA?: StubAnswer };
  /** Queries received, by type (`A`, `AAAA`, or the type's number). */
  readonly queries: Record<string, number>;
  close(): Promise<void>;
}

const TYPES: Record<number, 'A' | 'AAAA'> = { 1: 'A', 28: 'AAAA' };
const RCODE = { servfail: 2, refused: 5 } as const;

function rdata(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split('.').map(Number));
  // Expand `::` so that the address is eight 16-bit groups.
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  return out;
}

/** Offset of the zero byte that ends the question's name, or undefined for a malformed query. */
function nameEnd(query: Buffer): number | undefined {
  let at = 12;
  while (at < query.length && query[at] !== 0) at += query[at]! + 1;
  // The name's terminator, then 2 bytes of type and 2 of class.
  return at + 4 < query.length ? at : undefined;
}

function reply(
  query: Buffer,
  end: number,
  type: number,
  answer: StubAnswer | undefined,
  ttl: number,
): Buffer {
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  const rcode = typeof answer === 'string' ? RCODE[answer as keyof typeof RCODE] : 0;
  const records = Array.isArray(answer) ? (answer as readonly string[]) : [];
  header[2] = 0x84 | (query[2]! & 0x01); // QR and AA; RD as asked
  header[3] = 0x80 | rcode; // RA
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  const rrs = records.map((address) => {
    const data = rdata(address);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    rr.writeUInt16BE(type, 2);
    rr.writeUInt16BE(1, 4); // class IN
    rr.writeUInt32BE(ttl, 6);
    rr.writeUInt16BE(data.length, 10);
    return Buffer.concat([rr, data]);
  });
  return Buffer.concat([header, query.subarray(12, end + 5), ...rrs]);
}

/** Starts the stub on a free UDP port of 127.0.0.1. Every answer carries `ttl` seconds (default 1). */
export async function startDnsStub(answers: DnsStubServer['answers'], ttl = 1): Promise<DnsStubServer> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const queries: Record<string, number> = {};
  const stub: DnsStubServer = {
    server: `127.0.0.1:${socket.address().port}`,
    answers,
    queries,
    async close() {
      socket.close();
      await once(socket, 'close');
    },
  };
  socket.on('message', (query, from) => {
    const end = query.length >= 12 ? nameEnd(query) : undefined;
    if (end === undefined) return;
    const type = query.readUInt16BE(end + 1);
    const kind = TYPES[type];
    queries[kind ?? String(type)] = (queries[kind ?? String(type)] ?? 0) + 1;
    const answer = kind === undefined ? undefined : stub.answers[kind];
    if (answer !== 'drop') socket.send(reply(query, end, type, answer, ttl), from.port, from.address);
  });
  return stub;
}
