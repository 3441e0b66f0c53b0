import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import type { MiddlewareFn } from 'type-graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApiError, BadUserInputError, ErrorCode, isErrorCode, OutcomeUnknownError, ServiceUnavailableError } from '../errors';
import {
  AccountNotFoundError,
  BalanceLimitExceededError,
  CurrencyMismatchError,
  InsufficientFundsError,
  InvalidInputError,
} from '../ledger/errors';
import { isRedisUnavailable, WriteOutcomeUnknownError } from '../redis/client';
import { ApiKeyNotFoundError, AuthInputError, KeyEscalationError } from '../auth/errors';
import type { Logger } from '../log';

/** Maps a domain or infrastructure error to its public GraphQL error; unknown errors pass through. */
export function toApiError(error: unknown): unknown {
  if (error instanceof GraphQLError) return error;
  if (error instanceof InvalidInputError) return new BadUserInputError(error.message, error.field);
  if (error instanceof AccountNotFoundError) return new ApiError(ErrorCode.NOT_FOUND, error.message, { accountId: error.accountId });
  if (error instanceof CurrencyMismatchError) return new ApiError(ErrorCode.CURRENCY_MISMATCH, error.message);
  if (error instanceof InsufficientFundsError) return new ApiError(ErrorCode.INSUFFICIENT_FUNDS, error.message, { accountId: error.accountId });
  if (error instanceof BalanceLimitExceededError) return new ApiError(ErrorCode.BALANCE_LIMIT_EXCEEDED, error.message);
  if (error instanceof AuthInputError) return new BadUserInputError(error.message, error.field);
  if (error instanceof ApiKeyNotFoundError) return new ApiError(ErrorCode.NOT_FOUND, error.message, { apiKeyId: error.keyId });
  if (error instanceof KeyEscalationError) return new ApiError(ErrorCode.FORBIDDEN, error.message, { rule: error.rule });
  if (error instanceof WriteOutcomeUnknownError) return new OutcomeUnknownError(error.idempotent);
  if (isRedisUnavailable(error)) return new ServiceUnavailableError();
  return error;
}

/** type-graphql middleware: resolvers throw domain errors, clients see public codes. */
export const mapDomainErrors: MiddlewareFn = async (_action, next) => {
  try {
    return await next();
  } catch (error) {
    throw toApiError(error);
  }
};

/**
 * Apollo `formatError`: errors with a public code go out as they are (without stack traces);
 * anything else is logged whole and masked as INTERNAL_SERVER_ERROR.
 */
export function formatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    if (isErrorCode(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
      const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    const original = unwrapResolverError(error);
    if (original instanceof WriteOutcomeUnknownError) {
      const unknown = new OutcomeUnknownError(original.idempotent);
      return { message: unknown.message, path: formatted.path, extensions: { ...unknown.extensions } };
    }
    if (isRedisUnavailable(original)) {
      return { message: new ServiceUnavailableError().message, path: formatted.path, extensions: { code: ErrorCode.SERVICE_UNAVAILABLE } };
    }
    logger.error('unexpected error', { error: original, path: formatted.path });
    return { message: 'Internal server error', path: formatted.path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  };
}
