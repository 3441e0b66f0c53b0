import { ApiError } from './errors';
import type { ErrorCode } from './errors';

/**
 * A request refused before Apollo sees it (by the door or the admit step): the error it gets, the
 * response extensions beside it (e.g. `cost`) and headers to send with it (e.g. `RateLimit`).
 * http/respond renders it in the one error shape.
 */
export interface Refusal {
  readonly error: ApiError;
  readonly extensions?: Record<string, unknown>;
  readonly headers?: readonly (readonly [string, string])[];
}

export function refusal(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): Refusal {
  return { error: new ApiError(code, message, extensions) };
}
