import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError, Kind } from 'graphql';
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
import type { Logger } from '../observability/logger';

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

/** The longest message an error answer carries; longer ones are cut (they can echo input). */
export const MAX_ERROR_MESSAGE_LENGTH = 500;

const INVALID_VARIABLE = /^Variable "\$([_A-Za-z][_0-9A-Za-z]*)" got invalid value /;
const TOO_MANY_VARIABLE_ERRORS = 'Too many errors processing variables';
// graphql-js's built-in scalars end their refusal with the value: "Int cannot represent non-integer value: <value>".
const SCALAR_REFUSAL_WITH_VALUE = /^(\w+ cannot represent [^:]*value): [\s\S]*$/;

/**
 * graphql-js prints the whole invalid value into each variable error ("got invalid value {…}"),
 * so 60 unknown fields of one input would print it 60 times. Keeps the variable, where in it, and
 * why (`reason`, the message of the error's `originalError`); never the value.
 */
export function variableErrorMessage(message: string, reason: string | undefined): string {
  const match = INVALID_VARIABLE.exec(message);
  if (match === null || reason === undefined || !message.endsWith(`; ${reason}`)) return message;
  const name = match[1] ?? '';
  const printed = message.slice(match[0].length, message.length - reason.length - 2);
  const at = printed.lastIndexOf(` at "${name}`);
  const where = at >= 0 && printed.endsWith('"') ? printed.slice(at) : '';
  return `Variable "$${name}" got an invalid value${where}; ${reason.replace(SCALAR_REFUSAL_WITH_VALUE, '$1.')}`;
}

/** At most {@link MAX_ERROR_MESSAGE_LENGTH} characters, never ending in half a surrogate pair. */
export function boundedMessage(message: string): string {
  if (message.length <= MAX_ERROR_MESSAGE_LENGTH) return message;
  let cut = message.slice(0, MAX_ERROR_MESSAGE_LENGTH - 1);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** An error of graphql-js's variable coercion: the request's fault, whatever code it lacks. */
export function isVariableCoercionError(error: unknown): error is GraphQLError {
  return error instanceof GraphQLError && (error.message.startsWith(TOO_MANY_VARIABLE_ERRORS) || error.nodes?.[0]?.kind === Kind.VARIABLE_DEFINITION);
}

function clientMessage(formatted: GraphQLFormattedError, error: unknown): string {
  const reason = error instanceof GraphQLError && error.originalError !== error ? error.originalError?.message : undefined;
  return boundedMessage(variableErrorMessage(formatted.message, reason));
}

/**
 * Apollo `formatError`: errors with a public code go out with a bounded message that does not
 * echo the input (and without stack traces); graphql-js's variable errors are BAD_USER_INPUT;
 * anything else is logged whole and masked as INTERNAL_SERVER_ERROR.
 */
export function formatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const code = formatted.extensions?.code;
    if (isErrorCode(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
      const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, message: clientMessage(formatted, error), extensions };
    }
    if (isVariableCoercionError(error)) {
      return { message: clientMessage(formatted, error), locations: formatted.locations, extensions: { code: ErrorCode.BAD_USER_INPUT } };
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
