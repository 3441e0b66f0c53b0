import type http from 'node:http';
import { HTTP_STATUS } from '../errors';
import type { ErrorCode } from '../errors';
import { noteRefusalCode } from '../observability/requests';
import type { Refusal } from '../refusal';

export type { Refusal } from '../refusal';
export { refusal } from '../refusal';

const GRAPHQL_RESPONSE_JSON = 'application/graphql-response+json';
const APPLICATION_JSON = 'application/json';
/** Statuses that tell the client to come back later: they carry Retry-After and retryAfterMs. */
const RETRY_STATUSES = new Set([409, 429, 503]);
const DEFAULT_RETRY_AFTER_MS = 1000;

/**
 * GraphQL over HTTP: `application/graphql-response+json` when the Accept header prefers it (by q,
 * then by exactness, then by its order in the header), else `application/json`, which is also
 * what a client that sends no Accept gets.
 */
export function errorMediaType(accept: string | undefined): string {
  if (accept === undefined || accept.trim() === '') return APPLICATION_JSON;
  const rank = (mediaType: string): [number, number, number] => {
    let best: [number, number, number] = [0, 0, 0];
    accept.split(',').forEach((part, order) => {
      const [range = '', ...params] = part.split(';').map((piece) => piece.trim().toLowerCase());
      const qParam = params.find((param) => param.startsWith('q='));
      const q = qParam === undefined ? 1 : Number(qParam.slice(2));
      const exactness = range === mediaType ? 3 : range === 'application/*' ? 2 : range === '*/*' ? 1 : 0;
      if (exactness === 0 || !(q > 0)) return;
      const candidate: [number, number, number] = [q, exactness, -order];
      if (compare(candidate, best) > 0) best = candidate;
    });
    return best;
  };
  const graphql = rank(GRAPHQL_RESPONSE_JSON);
  return graphql[0] > 0 && compare(graphql, rank(APPLICATION_JSON)) > 0 ? GRAPHQL_RESPONSE_JSON : APPLICATION_JSON;
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

/**
 * The one error shape of every refusal rendered outside Apollo: `{ errors: [{ message,
 * extensions: { code, … } }] }` with the code's HTTP status, in the media type the client accepts;
 * 409, 429 and 503 say when to come back, in `Retry-After` (whole seconds, at least 1) and
 * `extensions.retryAfterMs`.
 */
export function renderRefusal(accept: string | undefined, refused: Refusal): { status: number; headers: [string, string][]; body: string } {
  const code = refused.error.extensions.code as ErrorCode;
  const status = HTTP_STATUS[code];
  const extensions: Record<string, unknown> = { ...refused.error.extensions };
  delete extensions.http;
  const headers: [string, string][] = refused.headers?.map(([name, value]) => [name, value]) ?? [];
  if (RETRY_STATUSES.has(status)) {
    const retryAfterMs = typeof extensions.retryAfterMs === 'number' ? extensions.retryAfterMs : DEFAULT_RETRY_AFTER_MS;
    extensions.retryAfterMs = retryAfterMs;
    headers.push(['retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000)))]);
  }
  headers.push(['content-type', `${errorMediaType(accept)}; charset=utf-8`]);
  const body = JSON.stringify({ errors: [{ message: refused.error.message, extensions }], ...(refused.extensions ? { extensions: refused.extensions } : {}) });
  return { status, headers, body };
}

export function sendRefusal(req: http.IncomingMessage, res: http.ServerResponse, refused: Refusal): void {
  const { status, headers, body } = renderRefusal(req.headers.accept, refused);
  noteRefusalCode(res, String(refused.error.extensions.code));
  res.statusCode = status;
  for (const [name, value] of headers) res.setHeader(name, value);
  res.end(body);
}

/** A plain JSON answer (health checks). */
export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}
