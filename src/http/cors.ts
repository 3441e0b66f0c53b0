import type { IncomingMessage, ServerResponse } from 'node:http';

/** Apollo Studio / Sandbox in the browser sends its requests from this origin. */
export const APOLLO_STUDIO_ORIGIN = 'https://studio.apollographql.com';

const ALLOWED_HEADERS = [
  'api-key',
  'authorization',
  'idempotency-key',
  'content-type',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
  'x-request-id',
  'x-api-version',
].join(', ');

const EXPOSED_HEADERS = ['x-request-id', 'x-api-version', 'idempotent-replayed', 'retry-after', 'ratelimit', 'ratelimit-policy'].join(', ');

/**
 * CORS for browsers: Apollo Studio and the configured origins may call the API with the headers
 * it needs. Returns true when the request was a preflight and has been answered.
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, allowedOrigins: ReadonlySet<string>): boolean {
  const origin = req.headers.origin;
  const allowed = origin !== undefined && allowedOrigins.has(origin);
  res.setHeader('Vary', 'Origin');
  if (allowed) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
  }
  if (req.method !== 'OPTIONS' || req.headers['access-control-request-method'] === undefined) return false;
  if (allowed) {
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
  }
  res.statusCode = 204;
  res.end();
  return true;
}
