import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP proxy that loses answers: it forwards each request to the server, waits for
 * the whole answer (so the server has done the work), and then, for the requests it picks, closes
 * the client's connection instead of answering. That is the lost response a retry must survive.
 */
export interface FaultProxy {
  readonly origin: string;
  readonly url: string;
  /** Answers lost so far, by the predicate's label. */
  dropped(): number;
  /** Requests forwarded so far. */
  forwarded(): number;
  /** Status and Retry-After of each answer the server gave, in order. */
  readonly answers: { status: number; retryAfter: string | undefined; body: string }[];
  /** Decides per request whether its answer is lost (default: none). */
  setDrop(drop: (body: string) => boolean): void;
  close(): Promise<void>;
}

/** Deterministic drops: the same seed loses the same answers (the chaos run's generator). */
export { seededRandom } from '../chaos/random';

export async function startFaultProxy(upstreamOrigin: string): Promise<FaultProxy> {
  const upstream = new URL(upstreamOrigin);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  let drop: (body: string) => boolean = () => false;
  let dropped = 0;
  let forwarded = 0;
  const answers: FaultProxy['answers'] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => void chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      forwarded += 1;
      const headers = { ...req.headers, host: upstream.host };
      const forward = http.request({ host: upstream.hostname, port: Number(upstream.port), method: req.method, path: req.url, headers, agent }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => void parts.push(chunk));
        answer.on('end', () => {
          const text = Buffer.concat(parts);
          const retryAfter = answer.headers['retry-after'];
          answers.push({ status: answer.statusCode ?? 0, retryAfter: typeof retryAfter === 'string' ? retryAfter : undefined, body: text.toString('utf8') });
          if (drop(body.toString('utf8'))) {
            // The server answered; the client never hears it.
            dropped += 1;
            req.socket.destroy();
            return;
          }
          const out = { ...answer.headers };
          delete out['transfer-encoding'];
          delete out.connection;
          out['content-length'] = String(text.length);
          res.writeHead(answer.statusCode ?? 502, out);
          res.end(text);
        });
      });
      forward.on('error', () => req.socket.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: `${origin}/graphql`,
    dropped: () => dropped,
    forwarded: () => forwarded,
    answers,
    setDrop(next) {
      drop = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
