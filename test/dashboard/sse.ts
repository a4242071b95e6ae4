// A Server-Sent Events reader for tests: opens the stream with node:http, parses messages as
// they arrive, and lets a test wait for the first one matching a condition, with a deadline.

import { type ClientRequest, type IncomingMessage, request } from 'node:http';

export interface SseMessage {
  event: string;
  data: string;
}

export interface SseStream {
  readonly response: IncomingMessage;
  readonly messages: SseMessage[];
  /** Resolves with the first message (already received or to come) `match` accepts. */
  next(match: (m: SseMessage) => boolean, timeoutMs?: number): Promise<SseMessage>;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  /** Drops the connection, as a closed browser tab does. */
  destroy(): void;
}

export function openStream(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req: ClientRequest = request(
      url,
      { headers: { accept: 'text/event-stream', ...headers } },
      (res) => {
        const messages: SseMessage[] = [];
        const waiters = new Set<() => void>();
        let buffer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffer += chunk;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let event = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('event: ')) event = line.slice(7);
              else if (line.startsWith('data: ')) data.push(line.slice(6));
            }
            if (data.length > 0) messages.push({ event, data: data.join('\n') });
          }
          for (const wake of waiters) wake();
        });
        const ended = new Promise<void>((done) => {
          res.once('end', done);
          res.once('close', done);
        });
        resolve({
          response: res,
          messages,
          ended,
          destroy: () => req.destroy(),
          next(match, timeoutMs = 20_000) {
            return new Promise((found, fail) => {
              let seen = 0;
              const check = () => {
                for (; seen < messages.length; seen++) {
                  if (match(messages[seen]!)) {
                    cleanup();
                    found(messages[seen]!);
                    return;
                  }
                }
              };
              const timer = setTimeout(() => {
                cleanup();
                fail(new Error(`no matching message within ${timeoutMs} ms (got ${messages.length})`));
              }, timeoutMs);
              const cleanup = () => {
                clearTimeout(timer);
                waiters.delete(check);
              };
              waiters.add(check);
              check();
            });
          },
        });
      },
    );
    req.once('error', reject);
    req.end();
  });
}
