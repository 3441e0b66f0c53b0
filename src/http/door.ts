import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { ErrorCode } from '../errors';
import type { Logger } from '../observability/logger';
import { ClientAbortedError } from './body';
import { createCors } from './cors';
import type { GraphQLHandler } from './graphql';
import { MAX_HEADER_LINES } from './node-server';
import { refusal, sendJson, sendRefusal } from './respond';

/** The API's dated version, sent as `X-Api-Version` on every response. */
export const API_VERSION = '2026-11-22';
/** Versions a client may pin with the `X-Api-Version` request header. */
export const SUPPORTED_API_VERSIONS: readonly string[] = [API_VERSION];

export interface DoorOptions {
  readonly logger: Logger;
  /** Origins CORS lets call the API from a browser. */
  readonly allowedOrigins: ReadonlySet<string>;
  /** Also allow http://localhost:* and http://127.0.0.1:* origins (development). Default false. */
  readonly allowLoopbackOrigins?: boolean;
  /** For /readyz: whether the data store answers. */
  isReady(): Promise<boolean>;
  /** For /readyz: what the process sheds now (overload); anything but `none` is not ready. */
  shedding?(): string;
  readonly graphql: GraphQLHandler;
  /** The offline GraphiQL at /graphiql/ (./graphiql.ts), when enabled. */
  readonly graphiql?: (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean;
}

const REQUEST_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;

/**
 * The door: every request passes here first. Request id and version headers, CORS, the pinned
 * API version, then the routes: /healthz, /readyz, /graphql; anything else is 404.
 */
export function createDoor(options: DoorOptions): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const { logger, allowedOrigins } = options;
  const applyCors = createCors({ origins: allowedOrigins, allowLoopbackOrigins: options.allowLoopbackOrigins, logger });

  async function route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, requestId: string): Promise<void> {
    if (req.rawHeaders.length / 2 > MAX_HEADER_LINES) {
      // Refused whole, never cut: a header pushed past a count could be the X-Forwarded-For that matters.
      res.setHeader('connection', 'close');
      return sendRefusal(req, res, refusal(ErrorCode.REQUEST_HEADERS_TOO_LARGE, `The request carries more than ${MAX_HEADER_LINES} header lines.`, { maxHeaderLines: MAX_HEADER_LINES }));
    }
    if (applyCors(req, res)) return;
    const pinned = req.headers['x-api-version'];
    if (pinned !== undefined && !SUPPORTED_API_VERSIONS.includes(String(pinned))) {
      const message = `X-Api-Version "${String(pinned).slice(0, 32)}" is not supported; supported: ${SUPPORTED_API_VERSIONS.join(', ')}.`;
      return sendRefusal(req, res, refusal(ErrorCode.BAD_USER_INPUT, message, { supportedVersions: SUPPORTED_API_VERSIONS }));
    }
    if (url.pathname === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      return sendJson(res, 200, { status: 'ok' });
    }
    if (url.pathname === '/readyz' && (req.method === 'GET' || req.method === 'HEAD')) {
      const shedding = options.shedding?.() ?? 'none';
      if (shedding !== 'none') return sendJson(res, 503, { status: 'shedding load', shedding });
      const ready = await options.isReady();
      return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'redis unreachable' });
    }
    if (url.pathname === '/graphql' || url.pathname === '/graphql/') {
      if (req.method !== 'GET' && req.method !== 'POST') {
        res.setHeader('Allow', 'GET, POST, OPTIONS');
        return sendRefusal(req, res, refusal(ErrorCode.BAD_REQUEST, 'Use GET or POST for /graphql.'));
      }
      return options.graphql(req, res, url, requestId);
    }
    if (options.graphiql?.(req, res, url) === true) return;
    return sendRefusal(req, res, refusal(ErrorCode.NOT_FOUND, `No route for ${req.method} ${url.pathname.slice(0, 200)}; the API is at /graphql.`));
  }

  return function door(req, res) {
    const incomingId = req.headers['x-request-id'];
    const requestId = typeof incomingId === 'string' && REQUEST_ID_PATTERN.test(incomingId) ? incomingId : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('X-Api-Version', API_VERSION);
    const url = new URL(req.url ?? '/', 'http://localhost');
    route(req, res, url, requestId).catch((error: unknown) => {
      // Not `req.destroyed`: Node sets it once a request's body has been read whole, client or not.
      if (error instanceof ClientAbortedError || req.socket.destroyed) {
        // The client went away: nothing is wrong on our side, and nobody is left to answer.
        logger.debug('client closed the connection before the answer', { requestId });
        res.destroy();
        return;
      }
      logger.error('request failed', { error, requestId });
      if (!res.headersSent) sendRefusal(req, res, refusal(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error'));
      else res.destroy();
    });
  };
}
