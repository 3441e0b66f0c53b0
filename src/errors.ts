import { GraphQLError } from 'graphql';
import { IDEMPOTENCY_HTTP_STATUS, IdempotencyErrorCode } from '@onceql/idempotency';

/**
 * The public error codes (`extensions.code`) and the HTTP status each one carries.
 * These names are part of the API contract: add codes, never rename one.
 */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  GRAPHQL_PARSE_FAILED: 'GRAPHQL_PARSE_FAILED',
  GRAPHQL_VALIDATION_FAILED: 'GRAPHQL_VALIDATION_FAILED',
  BAD_REQUEST: 'BAD_REQUEST',
  PERSISTED_QUERY_NOT_FOUND: 'PERSISTED_QUERY_NOT_FOUND',
  PERSISTED_QUERY_NOT_SUPPORTED: 'PERSISTED_QUERY_NOT_SUPPORTED',
  /** A publishable key sent an operation that is not registered for its tenant. */
  PERSISTED_QUERY_NOT_IN_LIST: 'PERSISTED_QUERY_NOT_IN_LIST',
  OPERATION_RESOLUTION_FAILURE: 'OPERATION_RESOLUTION_FAILURE',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  INSUFFICIENT_FUNDS: 'INSUFFICIENT_FUNDS',
  CURRENCY_MISMATCH: 'CURRENCY_MISMATCH',
  BALANCE_LIMIT_EXCEEDED: 'BALANCE_LIMIT_EXCEEDED',
  RATE_LIMITED: 'RATE_LIMITED',
  QUERY_COST_THROTTLED: 'QUERY_COST_THROTTLED',
  CONCURRENCY_LIMITED: 'CONCURRENCY_LIMITED',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  REQUEST_HEADERS_TOO_LARGE: 'REQUEST_HEADERS_TOO_LARGE',
  /** An `Expect` header other than `100-continue`. */
  EXPECTATION_FAILED: 'EXPECTATION_FAILED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  OUTCOME_UNKNOWN: 'OUTCOME_UNKNOWN',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  ...IdempotencyErrorCode,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  BAD_USER_INPUT: 400,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  BAD_REQUEST: 400,
  PERSISTED_QUERY_NOT_FOUND: 400,
  PERSISTED_QUERY_NOT_SUPPORTED: 400,
  PERSISTED_QUERY_NOT_IN_LIST: 403,
  OPERATION_RESOLUTION_FAILURE: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  INSUFFICIENT_FUNDS: 422,
  CURRENCY_MISMATCH: 422,
  BALANCE_LIMIT_EXCEEDED: 422,
  RATE_LIMITED: 429,
  QUERY_COST_THROTTLED: 429,
  CONCURRENCY_LIMITED: 429,
  QUERY_TOO_COMPLEX: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  REQUEST_TIMEOUT: 408,
  REQUEST_HEADERS_TOO_LARGE: 431,
  EXPECTATION_FAILED: 417,
  SERVICE_UNAVAILABLE: 503,
  OUTCOME_UNKNOWN: 503,
  INTERNAL_SERVER_ERROR: 500,
  ...IDEMPOTENCY_HTTP_STATUS,
};

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(HTTP_STATUS, value);
}

/** A GraphQL error with a public code; its HTTP status comes from {@link HTTP_STATUS}. */
export class ApiError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code } });
  }
}

export class BadUserInputError extends ApiError {
  constructor(message: string, field?: string) {
    super(ErrorCode.BAD_USER_INPUT, message, field === undefined ? {} : { field });
  }
}

export class UnauthenticatedError extends ApiError {
  constructor(message = 'A valid api key is required: send it as the "api-key" header or "Authorization: Bearer <key>".') {
    super(ErrorCode.UNAUTHENTICATED, message);
  }
}

export class ServiceUnavailableError extends ApiError {
  constructor(message = 'The data store is unreachable; retry shortly.') {
    super(ErrorCode.SERVICE_UNAVAILABLE, message);
  }
}

/**
 * 503 for a write that was sent to Redis but whose reply never came: it may have been applied.
 * Unlike SERVICE_UNAVAILABLE (nothing was sent), the client must retry with the same idempotency
 * key, never a new one: the retry replays the outcome if it ran, or runs it once if it did not.
 */
export class OutcomeUnknownError extends ApiError {
  constructor(idempotent: boolean, retryAfterMs = 1000) {
    super(
      ErrorCode.OUTCOME_UNKNOWN,
      idempotent
        ? 'The write was sent but its outcome is unknown (the data store did not answer in time): it may or may not have been applied. Retry with the same idempotency key: the retry returns the outcome if it was applied, or applies it once if it was not.'
        : 'The write was sent but its outcome is unknown (the data store did not answer in time): it may or may not have been applied. This request had no idempotency key, so a retry may apply it twice: check first, and send an idempotency key to retry safely.',
      { retryAfterMs: Math.max(0, Math.ceil(retryAfterMs)) },
    );
  }
}

export class ForbiddenError extends ApiError {
  constructor(message: string) {
    super(ErrorCode.FORBIDDEN, message);
  }
}

/** 429 with how long to wait, in `extensions.retryAfterMs` and (set by the HTTP layer) `Retry-After`. */
export class RateLimitedError extends ApiError {
  constructor(message: string, retryAfterMs: number) {
    super(ErrorCode.RATE_LIMITED, message, { retryAfterMs: Math.max(0, Math.ceil(retryAfterMs)) });
  }
}
