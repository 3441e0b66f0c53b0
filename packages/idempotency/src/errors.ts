import { GraphQLError } from 'graphql';

/** The error codes of idempotent mutations and the HTTP status of each. */
export const IdempotencyErrorCode = {
  IDEMPOTENCY_KEY_INVALID: 'IDEMPOTENCY_KEY_INVALID',
  IDEMPOTENCY_KEY_REQUIRED: 'IDEMPOTENCY_KEY_REQUIRED',
  IDEMPOTENCY_KEY_REUSED: 'IDEMPOTENCY_KEY_REUSED',
  IDEMPOTENCY_REQUEST_IN_PROGRESS: 'IDEMPOTENCY_REQUEST_IN_PROGRESS',
} as const;
export type IdempotencyErrorCode = (typeof IdempotencyErrorCode)[keyof typeof IdempotencyErrorCode];

export const IDEMPOTENCY_HTTP_STATUS: Readonly<Record<IdempotencyErrorCode, number>> = {
  IDEMPOTENCY_KEY_INVALID: 400,
  IDEMPOTENCY_KEY_REQUIRED: 400,
  IDEMPOTENCY_KEY_REUSED: 422,
  IDEMPOTENCY_REQUEST_IN_PROGRESS: 409,
};

export class IdempotencyKeyInvalidError extends GraphQLError {
  constructor(reason: string) {
    super(`Invalid idempotency key: ${reason}. Use 1-255 visible ASCII characters; a UUID v4 is recommended.`, {
      extensions: { code: IdempotencyErrorCode.IDEMPOTENCY_KEY_INVALID },
    });
  }
}

export class IdempotencyKeyRequiredError extends GraphQLError {
  constructor(mutation: string) {
    super(`${mutation} needs an idempotency key: pass idempotencyKey or the Idempotency-Key header (a UUID v4), and reuse it when you retry.`, {
      extensions: { code: IdempotencyErrorCode.IDEMPOTENCY_KEY_REQUIRED },
    });
  }
}

export class IdempotencyKeyReusedError extends GraphQLError {
  constructor(key: string) {
    super(`Idempotency key "${key}" was already used with another mutation or other arguments; use a new key for a new request.`, {
      extensions: { code: IdempotencyErrorCode.IDEMPOTENCY_KEY_REUSED },
    });
  }
}

export class IdempotencyRequestInProgressError extends GraphQLError {
  constructor(key: string, retryAfterMs: number) {
    const retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super(`A request with idempotency key "${key}" is still executing; retry after ${retryAfterSeconds} s with the same key.`, {
      extensions: { code: IdempotencyErrorCode.IDEMPOTENCY_REQUEST_IN_PROGRESS, retryAfterMs: Math.max(0, Math.round(retryAfterMs)) },
    });
  }
}
