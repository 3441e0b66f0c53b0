import type http from 'node:http';
import type { ApiError, ErrorCode } from '../errors';
import { HTTP_STATUS } from '../errors';

/**
 * A request refused before Apollo sees it (by the door or the admit step): the error it gets, the
 * response extensions beside it (e.g. `cost`) and headers to send with it (e.g. `RateLimit`).
 */
export interface Refusal {
  readonly error: ApiError;
  readonly extensions?: Record<string, unknown>;
  readonly headers?: readonly (readonly [string, string])[];
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

/** Renders a refusal: its status from the code's HTTP status, `Retry-After` when it says how long to wait. */
export function sendRefusal(res: http.ServerResponse, refusal: Refusal): void {
  const code = refusal.error.extensions.code as ErrorCode;
  for (const [name, value] of refusal.headers ?? []) res.setHeader(name, value);
  const retryAfterMs = refusal.error.extensions.retryAfterMs;
  if (typeof retryAfterMs === 'number') res.setHeader('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  sendJson(res, HTTP_STATUS[code], {
    errors: [{ message: refusal.error.message, extensions: refusal.error.extensions }],
    ...(refusal.extensions ? { extensions: refusal.extensions } : {}),
  });
}

export function sendError(res: http.ServerResponse, code: ErrorCode, message: string, extra: Record<string, unknown> = {}): void {
  sendJson(res, HTTP_STATUS[code], { errors: [{ message, extensions: { ...extra, code } }] });
}

