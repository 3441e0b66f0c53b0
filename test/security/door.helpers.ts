import http from 'node:http';
import net from 'node:net';

/** A raw TCP connection to the server that records what comes back and when it is closed. */
export interface RawConnection {
  readonly socket: net.Socket;
  /** Everything the server sent so far. */
  received(): string;
  /** Resolves once the server (or the network) closed the connection. */
  readonly closed: Promise<void>;
  isClosed(): boolean;
}

export function connect(origin: string, localAddress?: string): Promise<RawConnection> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let closed = false;
    const socket = net.connect({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port), localAddress });
    const closedPromise = new Promise<void>((done) => socket.once('close', () => ((closed = true), done())));
    socket.on('data', (chunk: Buffer) => void chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => Buffer.concat(chunks).toString('utf8'), closed: closedPromise, isClosed: () => closed }));
    socket.once('error', reject);
  });
}

export interface PlainResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One HTTP request from a chosen local address (any 127.x.y.z is loopback on Linux), on a fresh connection. */
export function request(origin: string, options: { path?: string; method?: string; headers?: Record<string, string | string[]>; body?: string | Buffer; localAddress?: string } = {}): Promise<PlainResponse> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: Number(url.port),
        path: options.path ?? '/healthz',
        method: options.method ?? 'GET',
        headers: options.headers,
        localAddress: options.localAddress,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => void chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The JSON body of a raw HTTP answer (after the blank line). */
export function jsonBodyOf(raw: string): { errors?: { message: string; extensions?: Record<string, unknown> }[] } {
  return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

/** Waits until `check` holds, polling; fails after `attempts` tries (bounded, not a timing assertion). */
export async function eventually(check: () => boolean | Promise<boolean>, attempts = 200, pauseMs = 25): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  throw new Error('condition never held');
}
