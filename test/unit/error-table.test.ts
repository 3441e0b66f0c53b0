import { GraphQLError } from 'graphql';
import { ErrorCode, HTTP_STATUS } from '../../src/errors';
import { toApiError } from '../../src/graphql/errors';
import * as ledgerErrors from '../../src/ledger/errors';
import * as authErrors from '../../src/auth/errors';
import { WriteOutcomeUnknownError } from '../../src/redis/client';

/**
 * The error table, pinned: every public code and its HTTP status, and the public code (and
 * extensions) each domain error becomes. Codes and statuses are the API contract (README's error
 * table); a change here must be a decision, so each is written out literally instead of read
 * back from the code under test. Adding a code or a domain error class means adding its row here.
 */

const PUBLIC_CODES: Record<string, number> = {
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
  IDEMPOTENCY_KEY_INVALID: 400,
  IDEMPOTENCY_KEY_REQUIRED: 400,
  IDEMPOTENCY_KEY_REUSED: 422,
  IDEMPOTENCY_REQUEST_IN_PROGRESS: 409,
};

/** What a domain error becomes: its public code, HTTP status and extensions (message kept as is). */
type Row = { code: string; status: number; extensions: Record<string, unknown> };

const LONG_KEY_ID = `key_${'x'.repeat(100)}`;

/** One instance of every class the domain error modules export, and the row it must map to. */
const DOMAIN_ERRORS: Record<string, [error: Error, row: Row | 'not public']> = {
  LedgerError: [new ledgerErrors.LedgerError('a base class, never thrown as such'), 'not public'],
  InvalidInputError: [
    new ledgerErrors.InvalidInputError('amount', 'amount must be a positive integer string'),
    { code: 'BAD_USER_INPUT', status: 400, extensions: { field: 'amount' } },
  ],
  AccountNotFoundError: [new ledgerErrors.AccountNotFoundError('acc_1'), { code: 'NOT_FOUND', status: 404, extensions: { accountId: 'acc_1' } }],
  CurrencyMismatchError: [new ledgerErrors.CurrencyMismatchError(), { code: 'CURRENCY_MISMATCH', status: 422, extensions: {} }],
  InsufficientFundsError: [new ledgerErrors.InsufficientFundsError('acc_2'), { code: 'INSUFFICIENT_FUNDS', status: 422, extensions: { accountId: 'acc_2' } }],
  BalanceLimitExceededError: [new ledgerErrors.BalanceLimitExceededError(), { code: 'BALANCE_LIMIT_EXCEEDED', status: 422, extensions: {} }],
  AuthInputError: [new authErrors.AuthInputError('scopes', 'unknown scope'), { code: 'BAD_USER_INPUT', status: 400, extensions: { field: 'scopes' } }],
  ApiKeyNotFoundError: [
    new authErrors.ApiKeyNotFoundError(LONG_KEY_ID),
    // the id echoes input: cut to 64 characters
    { code: 'NOT_FOUND', status: 404, extensions: { apiKeyId: LONG_KEY_ID.slice(0, 64) } },
  ],
  KeyEscalationError: [new authErrors.KeyEscalationError('scopes', 'more scopes than its own'), { code: 'FORBIDDEN', status: 403, extensions: { rule: 'scopes' } }],
};

function rowOf(mapped: unknown): Row {
  if (!(mapped instanceof GraphQLError)) throw new Error(`not a GraphQLError: ${String(mapped)}`);
  const { code, ...extensions } = mapped.extensions;
  return { code: String(code), status: HTTP_STATUS[code as ErrorCode], extensions };
}

describe('public codes', () => {
  test('every public code and its HTTP status, exactly', () => {
    expect({ ...HTTP_STATUS }).toEqual(PUBLIC_CODES);
  });

  test('each code is named by its own value', () => {
    expect(Object.entries(ErrorCode).filter(([name, value]) => name !== value)).toEqual([]);
    expect(Object.keys(ErrorCode).sort()).toEqual(Object.keys(PUBLIC_CODES).sort());
  });
});

describe('domain error → public code (toApiError)', () => {
  test('every error class the domain modules export has a row here', () => {
    const exported = Object.entries({ ...ledgerErrors, ...authErrors })
      .filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error)
      .map(([name]) => name);
    expect(exported.sort()).toEqual(Object.keys(DOMAIN_ERRORS).sort());
  });

  test.each(Object.entries(DOMAIN_ERRORS))('%s', (name, [error, expected]) => {
    expect(error.constructor.name).toBe(name);
    const mapped = toApiError(error);
    if (expected === 'not public') {
      // passed through unchanged; formatError logs it and answers INTERNAL_SERVER_ERROR
      expect(mapped).toBe(error);
      return;
    }
    expect(rowOf(mapped)).toEqual(expected);
    expect((mapped as GraphQLError).message).toBe(error.message);
  });
});

describe('infrastructure errors → public code (toApiError)', () => {
  test('a write whose reply never came: OUTCOME_UNKNOWN 503, retry after 1 s, the message says whether a retry is safe', () => {
    const cause = new Error('Command timed out');
    const keyed = toApiError(new WriteOutcomeUnknownError('createTransfer', true, cause));
    const keyless = toApiError(new WriteOutcomeUnknownError('createTransfer', false, cause));
    expect(rowOf(keyed)).toEqual({ code: 'OUTCOME_UNKNOWN', status: 503, extensions: { retryAfterMs: 1000 } });
    expect(rowOf(keyless)).toEqual({ code: 'OUTCOME_UNKNOWN', status: 503, extensions: { retryAfterMs: 1000 } });
    expect((keyed as GraphQLError).message).toContain('Retry with the same idempotency key');
    expect((keyless as GraphQLError).message).toContain('no idempotency key');
  });

  test.each([
    ['ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' })],
    ['a closed connection', new Error('Connection is closed.')],
    ['a command timeout', new Error('Command timed out')],
    ['the offline queue off', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ['a cluster that is down', new Error('CLUSTERDOWN The cluster is down')],
  ])('Redis unreachable (%s): SERVICE_UNAVAILABLE 503', (_name, error) => {
    expect(rowOf(toApiError(error))).toEqual({ code: 'SERVICE_UNAVAILABLE', status: 503, extensions: {} });
  });

  test('a GraphQL error and an unknown error pass through unchanged', () => {
    const graphqlError = new GraphQLError('already public', { extensions: { code: 'FORBIDDEN' } });
    const unknown = new TypeError('a bug');
    expect(toApiError(graphqlError)).toBe(graphqlError);
    expect(toApiError(unknown)).toBe(unknown);
    expect(toApiError('a string')).toBe('a string');
  });
});
