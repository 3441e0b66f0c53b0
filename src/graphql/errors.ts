import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError, Kind } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApiError, BadUserInputError, ErrorCode, isErrorCode, OutcomeUnknownError, ServiceUnavailableError } from '../errors';
import * as ledgerErrors from '../ledger/errors';
import { isRedisUnavailable, WriteOutcomeUnknownError } from '../redis/client';
import * as authErrors from '../auth/errors';
import type { Logger } from '../observability/logger';
import { noteUnexpectedError } from '../observability/requests';

type DomainModules = typeof ledgerErrors & typeof authErrors;
/** Every error class the domain modules export: a new one without a row below fails the type check. */
type DomainErrorName = { [K in keyof DomainModules]: DomainModules[K] extends abstract new (...args: never[]) => Error ? K : never }[keyof DomainModules];
type DomainErrorOf<K extends DomainErrorName> = DomainModules[K] extends abstract new (...args: never[]) => infer E ? E : never;

/**
 * The one domain → API error table. Domain errors know nothing of GraphQL; this is where they get
 * their public code. null: not a public error (the base class is never thrown as such).
 */
const DOMAIN_ERRORS: { readonly [K in DomainErrorName]: (error: DomainErrorOf<K>) => GraphQLError | null } = {
  LedgerError: () => null,
  InvalidInputError: (error) => new BadUserInputError(error.message, error.field),
  AccountNotFoundError: (error) => new ApiError(ErrorCode.NOT_FOUND, error.message, { accountId: error.accountId }),
  CurrencyMismatchError: (error) => new ApiError(ErrorCode.CURRENCY_MISMATCH, error.message),
  InsufficientFundsError: (error) => new ApiError(ErrorCode.INSUFFICIENT_FUNDS, error.message, { accountId: error.accountId }),
  BalanceLimitExceededError: (error) => new ApiError(ErrorCode.BALANCE_LIMIT_EXCEEDED, error.message),
  AuthInputError: (error) => new BadUserInputError(error.message, error.field),
  ApiKeyNotFoundError: (error) => new ApiError(ErrorCode.NOT_FOUND, error.message, { apiKeyId: error.keyId.slice(0, 64) }),
  KeyEscalationError: (error) => new ApiError(ErrorCode.FORBIDDEN, error.message, { rule: error.rule }),
};

const domainModules: Readonly<Record<string, unknown>> = { ...ledgerErrors, ...authErrors };
const rowOfClass = new Map<unknown, (error: never) => GraphQLError | null>(
  Object.entries(DOMAIN_ERRORS).map(([name, row]) => [domainModules[name], row as (error: never) => GraphQLError | null]),
);

/** Maps a domain or infrastructure error to its public GraphQL error; unknown errors pass through. */
export function toApiError(error: unknown): unknown {
  if (error instanceof GraphQLError) return error;
  const row = error instanceof Error ? rowOfClass.get(error.constructor) : undefined;
  const mapped = row === undefined ? null : row(error as never);
  if (mapped !== null) return mapped;
  if (error instanceof WriteOutcomeUnknownError) return new OutcomeUnknownError(error.idempotent);
  if (isRedisUnavailable(error)) return new ServiceUnavailableError();
  return error;
}

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

/** Unexpected errors of one request logged whole; more are only counted. */
const UNEXPECTED_ERRORS_LOGGED = 3;

/**
 * Apollo `formatError`: errors with a public code go out with a bounded message that does not
 * echo the input (and without stack traces); graphql-js's variable errors are BAD_USER_INPUT;
 * domain errors thrown by resolvers get their public code here, once, from {@link toApiError}'s
 * table (no field middleware, so plain fields resolve without a promise); anything else is
 * logged whole and masked as INTERNAL_SERVER_ERROR.
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
    const mapped = original instanceof GraphQLError ? original : toApiError(original);
    if (mapped instanceof GraphQLError && isErrorCode(mapped.extensions.code) && mapped.extensions.code !== ErrorCode.INTERNAL_SERVER_ERROR) {
      const { stacktrace: _stacktrace, http: _http, ...extensions } = mapped.extensions;
      return { message: boundedMessage(mapped.message), locations: formatted.locations, path: formatted.path, extensions };
    }
    // One failure often fails every root field alike: the first few are logged, the rest counted
    // (the request's log line says how many).
    if (noteUnexpectedError(error) <= UNEXPECTED_ERRORS_LOGGED) logger.error('unexpected error', { error: original, path: formatted.path });
    return { message: 'Internal server error', path: formatted.path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  };
}
