import http from 'node:http';
import type { Socket } from 'node:net';
import { addressKey } from '../auth/ip';
import { ErrorCode } from '../errors';
import type { ErrorCode as Code } from '../errors';
import type { Logger } from '../observability/logger';
import { refusal, renderRefusal } from './respond';

/** The HTTP door's limits. */
export interface HttpLimits {
  /** Time to receive a request's headers (HTTP_HEADERS_TIMEOUT_MS, default 10000). */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request, body included (HTTP_REQUEST_TIMEOUT_MS, default 30000). */
  readonly requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open (HTTP_KEEP_ALIVE_TIMEOUT_MS, default 5000). */
  readonly keepAliveTimeoutMs: number;
  /**
   * How long a connection with a request open may see no traffic either way before it is
   * destroyed (HTTP_RESPONSE_TIMEOUT_MS, default 30000): a client that stops reading its answer
   * would otherwise hold the answer's memory for as long as it likes.
   */
  readonly responseTimeoutMs: number;
  /** Largest request body (HTTP_MAX_BODY_BYTES, default 1 MiB); more gets 413. */
  readonly maxBodyBytes: number;
  /** Open connections in all (HTTP_MAX_CONNECTIONS, default 10000). */
  readonly maxConnections: number;
  /** Open connections per client address, an IPv6 /64 counting as one (HTTP_MAX_CONNECTIONS_PER_IP, default 100). */
  readonly maxConnectionsPerIp: number;
}

export interface HttpServerOptions {
  readonly limits: HttpLimits;
  readonly logger: Logger;
  /** Peers not held to the per-address cap: trusted reverse proxies carry many clients. */
  isTrustedProxy(socketAddress: string): boolean;
}

/**
 * Most header lines a request may carry; the door refuses more with 431. Node's own
 * `maxHeadersCount` is not used for this: it silently drops the lines past its count, and a caller
 * can pad the request to push out a header that matters (X-Forwarded-For: the caller would be
 * taken for the proxy). Node keeps every line here (`maxHeadersCount` 0); their bytes are bounded
 * by `maxHeaderSize` (16 KiB by default).
 */
export const MAX_HEADER_LINES = 100;

/**
 * A `node:http` server (requests go to its 'request' listeners) with the door's limits set with Node's own options: time to send the
 * headers, time to send the whole request, the idle keep-alive time, the time a request's connection
 * may stay silent (an answer nobody reads), and a cap on open connections
 * (`maxConnections`). Beside them, what Node has no option for: a cap per client address, a
 * 413 before a declared-too-large body is sent (`Expect: 100-continue`), and the errors Node
 * answers itself (timeouts, malformed requests) in the API's one error shape.
 */
export function createHttpServer(options: HttpServerOptions): http.Server {
  const { limits, logger } = options;
  const server = http.createServer({
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // How often Node looks for requests past those timeouts (default 30 s, too coarse for them).
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  });
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // No traffic either way for this long while a request is open (an answer the client does not
  // read, stuck in the socket's buffer): Node destroys the socket, and the answer's memory is freed.
  server.timeout = limits.responseTimeoutMs;
  server.maxHeadersCount = 0;
  server.maxConnections = limits.maxConnections;

  // The response in flight on each connection, so a client error knows whether it may still answer.
  const inFlight = new WeakMap<Socket, http.ServerResponse>();
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => void inFlight.set(req.socket, res));
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (Number(req.headers['content-length']) > limits.maxBodyBytes) {
      // The client waits for "100 Continue" before sending: refuse without reading anything.
      res.shouldKeepAlive = false;
      return answer(req.socket, res, 'PAYLOAD_TOO_LARGE', `The request body exceeds ${limits.maxBodyBytes} bytes.`, req.headers.accept);
    }
    res.writeContinue();
    server.emit('request', req, res);
  });
  // Any other expectation: Node would answer a bare 417 with no body; this is the one error shape.
  server.on('checkExpectation', (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.shouldKeepAlive = false;
    const expect = String(req.headers.expect).slice(0, 64);
    answer(req.socket, res, 'EXPECTATION_FAILED', `Expect "${expect}" is not supported; only "100-continue" is.`, req.headers.accept);
  });

  const perAddress = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined || options.isTrustedProxy(address)) return;
    const key = addressKey(address);
    const open = (perAddress.get(key) ?? 0) + 1;
    if (open > limits.maxConnectionsPerIp) {
      logger.debug('connection refused: too many from one address', { address: key, open: open - 1 });
      socket.destroy();
      return;
    }
    perAddress.set(key, open);
    socket.once('close', () => {
      const left = (perAddress.get(key) ?? 1) - 1;
      if (left <= 0) perAddress.delete(key);
      else perAddress.set(key, left);
    });
  });

  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const res = inFlight.get(socket);
    const [code, message] = clientErrorCode(error);
    logger.debug('client error', { code: error.code ?? error.name, answered: code ?? 'none' });
    if (code === undefined || !socket.writable || res?.headersSent === true) {
      socket.destroy();
      return;
    }
    answer(socket, undefined, code, message, undefined);
  });

  function answer(socket: Socket, res: http.ServerResponse | undefined, code: Code, message: string, accept: string | undefined): void {
    const rendered = renderRefusal(accept, refusal(code, message));
    if (res !== undefined) {
      res.statusCode = rendered.status;
      for (const [name, value] of rendered.headers) res.setHeader(name, value);
      res.setHeader('connection', 'close');
      res.end(rendered.body);
      return;
    }
    const head = [`HTTP/1.1 ${rendered.status} ${http.STATUS_CODES[rendered.status] ?? ''}`, 'connection: close', `content-length: ${Buffer.byteLength(rendered.body)}`];
    for (const [name, value] of rendered.headers) head.push(`${name}: ${value}`);
    socket.end(`${head.join('\r\n')}\r\n\r\n${rendered.body}`);
    socket.destroySoon();
  }

  return server;
}

/** What to answer a request Node could not read: nothing for a connection that is gone. */
function clientErrorCode(error: NodeJS.ErrnoException): [Code | undefined, string] {
  switch (error.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return [undefined, ''];
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [ErrorCode.REQUEST_TIMEOUT, 'The request was not received in time.'];
    case 'HPE_HEADER_OVERFLOW':
      return [ErrorCode.REQUEST_HEADERS_TOO_LARGE, 'The request headers are too large.'];
    default:
      return [ErrorCode.BAD_REQUEST, 'The request is not valid HTTP.'];
  }
}
