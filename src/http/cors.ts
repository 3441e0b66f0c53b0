import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../observability/logger';

/** Apollo Studio / Sandbox in the browser sends its requests from this origin. */
export const APOLLO_STUDIO_ORIGIN = 'https://studio.apollographql.com';

/**
 * Request headers a browser may send. Besides onceql's own (keys, idempotency, request id,
 * version) and Apollo's, the tracing headers that frontend SDKs add to every fetch: W3C Trace
 * Context and Baggage (OpenTelemetry, Datadog, …) and Sentry's. Without them such an app fails
 * its preflight and never reaches the API.
 */
export const ALLOWED_REQUEST_HEADERS: readonly string[] = [
  'accept',
  'content-type',
  'api-key',
  'authorization',
  'idempotency-key',
  'x-request-id',
  'x-api-version',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
  'traceparent',
  'tracestate',
  'baggage',
  'sentry-trace',
];

/** Response headers browser code may read: the replay marker, the limits, and the ids to quote in a report. */
export const EXPOSED_RESPONSE_HEADERS: readonly string[] = ['Idempotent-Replayed', 'RateLimit', 'RateLimit-Policy', 'Retry-After', 'X-Request-Id', 'X-Api-Version'];

/** http://localhost, http://127.0.0.1 or http://[::1], on any port: where development servers (Vite, Next) run. */
const LOOPBACK_ORIGIN = /^http:\/\/(?:localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$/;

/** How many refused origins are remembered so that each is logged once; past that, none is logged (bounded memory). */
const MAX_REMEMBERED_REFUSALS = 1000;

export interface CorsOptions {
  /** Origins allowed to call the API from a browser: Apollo Studio and CORS_ORIGINS. */
  readonly origins: ReadonlySet<string>;
  /**
   * Also allow `http://localhost:*`, `http://127.0.0.1:*` and `http://[::1]:*`, for a frontend's
   * development server. Default false; onceql turns it on when NODE_ENV is development.
   */
  readonly allowLoopbackOrigins?: boolean;
  /** Where a refused origin is reported, once per origin, at info. */
  readonly logger?: Pick<Logger, 'info'>;
}

/**
 * CORS for browsers: answers preflights and marks the answers of allowed origins. The returned
 * function returns true when the request was a preflight and has been answered.
 *
 * A refused origin gets no CORS headers (the browser blocks the call) and, for a preflight, a 403
 * whose body says why; the server logs it once, naming CORS_ORIGINS, so that a developer whose app
 * fails with an opaque CORS error finds the fix in the log.
 */
export function createCors(options: CorsOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { origins, allowLoopbackOrigins = false, logger } = options;
  const allowHeaders = ALLOWED_REQUEST_HEADERS.join(', ');
  const exposeHeaders = EXPOSED_RESPONSE_HEADERS.join(', ');
  const refusedOrigins = new Set<string>();

  const isAllowed = (origin: string): boolean => origins.has(origin) || (allowLoopbackOrigins && LOOPBACK_ORIGIN.test(origin));

  function noteRefused(origin: string): void {
    if (refusedOrigins.has(origin) || refusedOrigins.size >= MAX_REMEMBERED_REFUSALS) return;
    refusedOrigins.add(origin);
    logger?.info('CORS refused a browser origin', {
      origin: origin.slice(0, 200),
      hint: 'To let a browser app on this origin call the API, add it to CORS_ORIGINS (comma-separated, e.g. CORS_ORIGINS=https://app.example.com).',
    });
  }

  return function applyCors(req, res) {
    const origin = req.headers.origin;
    res.setHeader('Vary', 'Origin');
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    // A same-origin request or a non-browser client sends no Origin: nothing to decide.
    if (origin === undefined) {
      if (!preflight) return false;
      res.statusCode = 204;
      res.end();
      return true;
    }
    const allowed = isAllowed(origin);
    if (allowed) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Expose-Headers', exposeHeaders);
    } else {
      noteRefused(origin);
    }
    if (!preflight) return false;
    if (!allowed) {
      res.statusCode = 403;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(`The origin ${origin.slice(0, 200)} may not call this API from a browser; the operator can allow it with CORS_ORIGINS.\n`);
      return true;
    }
    res.setHeader('Vary', 'Origin, Access-Control-Request-Headers');
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', allowHeaders);
    res.setHeader('Access-Control-Max-Age', '600');
    res.statusCode = 204;
    res.end();
    return true;
  };
}
