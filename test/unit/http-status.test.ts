import 'reflect-metadata';
import { GraphQLError, parse } from 'graphql';
import type { GraphQLFormattedError, OperationDefinitionNode } from 'graphql';
import { boundedMessage, formatError, MAX_ERROR_MESSAGE_LENGTH, variableErrorMessage } from '../../src/graphql/errors';
import { coercedVariables, decidingError, httpStatusOf, rootFieldsOf } from '../../src/graphql/http-status.plugin';
import { buildLedgerSchema } from '../../src/graphql/schema';
import { createLogger } from '../../src/observability/logger';

function error(code: string, path?: (string | number)[]): GraphQLFormattedError {
  return { message: code, ...(path ? { path } : {}), extensions: { code } };
}

describe('the status rule', () => {
  it('is 200 without errors', () => {
    expect(httpStatusOf({ data: { createTransfer: { id: 't' } } })).toBe(200);
    expect(httpStatusOf({ data: { a: 1 }, errors: [] })).toBe(200);
  });

  it('takes the first error when the request failed before execution (no data)', () => {
    expect(httpStatusOf({ errors: [error('BAD_USER_INPUT'), error('FORBIDDEN')] })).toBe(400);
    expect(httpStatusOf({ errors: [error('UNAUTHENTICATED')] })).toBe(401);
    expect(httpStatusOf({ errors: [error('GRAPHQL_VALIDATION_FAILED'), error('GRAPHQL_VALIDATION_FAILED')] })).toBe(400);
    expect(httpStatusOf({ errors: [error('IDEMPOTENCY_KEY_INVALID')] })).toBe(400);
  });

  it("takes the only root field's own error", () => {
    expect(httpStatusOf({ data: { createTransfer: null }, errors: [error('INSUFFICIENT_FUNDS', ['createTransfer'])] })).toBe(422);
    expect(httpStatusOf({ data: { pay: null }, errors: [error('IDEMPOTENCY_KEY_REUSED', ['pay'])] })).toBe(422);
    expect(httpStatusOf({ data: { createTransfer: null }, errors: [error('IDEMPOTENCY_REQUEST_IN_PROGRESS', ['createTransfer'])] })).toBe(409);
    expect(httpStatusOf({ data: { revokeApiKey: null }, errors: [error('NOT_FOUND', ['revokeApiKey'])] })).toBe(404);
  });

  it('finds the own error among nested ones, in any order', () => {
    const answer = { data: { t: null }, errors: [error('FORBIDDEN', ['t', 'toAccount', 'balance']), error('CURRENCY_MISMATCH', ['t'])] };
    expect(decidingError(answer)?.extensions?.code).toBe('CURRENCY_MISMATCH');
    expect(httpStatusOf(answer)).toBe(422);
  });

  it('is 200 when the error is nested, even when it nulled the root field (the mutation committed)', () => {
    expect(httpStatusOf({ data: { createTransfer: null }, errors: [error('BAD_USER_INPUT', ['createTransfer', 'toAccount', 'transfers'])] })).toBe(200);
    expect(httpStatusOf({ data: { createTransfer: { id: 't', fromAccount: null } }, errors: [error('FORBIDDEN', ['createTransfer', 'fromAccount', 'balance'])] })).toBe(200);
    expect(httpStatusOf({ data: { account: null }, errors: [error('INTERNAL_SERVER_ERROR', ['account', 'transfers', 'edges', 0, 'node'])] })).toBe(200);
  });

  it('is 200 with several root fields, whichever failed', () => {
    expect(httpStatusOf({ data: { a: { id: 'x' }, b: null }, errors: [error('INSUFFICIENT_FUNDS', ['b'])] })).toBe(200);
    expect(httpStatusOf({ data: { viewer: { tenant: null }, account: null }, errors: [error('FORBIDDEN', ['account'])] })).toBe(200);
    expect(httpStatusOf({ data: null, errors: [error('FORBIDDEN', ['accounts'])], rootFieldCount: 2 })).toBe(200);
  });

  it('does not count __typename as a root field, aliased or not', () => {
    expect(httpStatusOf({ data: { __typename: 'Mutation', createAccount: null }, errors: [error('BAD_USER_INPUT', ['createAccount'])] })).toBe(400);
    const document = parse('mutation { kind: __typename createAccount(input: { name: "A", currency: "EUR" }) { id } }');
    const { typenameKeys } = rootFieldsOf(document.definitions[0] as OperationDefinitionNode, document);
    expect(httpStatusOf({ data: { kind: 'Mutation', createAccount: null }, errors: [error('FORBIDDEN', ['createAccount'])], typenameKeys })).toBe(403);
  });

  it('reads the root field count when data is null (a non-null root field failed)', () => {
    expect(httpStatusOf({ data: null, errors: [error('INTERNAL_SERVER_ERROR', ['viewer'])], rootFieldCount: 1 })).toBe(500);
    expect(httpStatusOf({ data: null, errors: [error('FORBIDDEN', ['accounts', 'edges'])], rootFieldCount: 1 })).toBe(200);
  });

  it('masks codes the table does not know as 500, or leaves them to Apollo with another table', () => {
    expect(httpStatusOf({ errors: [{ message: 'x' }] })).toBe(500);
    expect(httpStatusOf({ errors: [error('SOMETHING_ELSE')] })).toBe(500);
    expect(httpStatusOf({ errors: [error('SOMETHING_ELSE')] }, () => undefined)).toBeUndefined();
    expect(httpStatusOf({ data: { a: null, b: null }, errors: [error('X', ['a'])] }, () => undefined)).toBe(200);
  });

  it('never answers 4xx for a committed mutation with a nested error: random shapes', () => {
    // A committed mutation has a value or a nested error below it, never its own error.
    for (let depth = 2; depth < 8; depth++) {
      for (const code of ['BAD_USER_INPUT', 'FORBIDDEN', 'NOT_FOUND', 'INSUFFICIENT_FUNDS', 'IDEMPOTENCY_KEY_REUSED']) {
        const path = ['createTransfer', ...Array.from({ length: depth - 1 }, (_, i) => (i % 2 === 0 ? 'toAccount' : i))];
        expect(httpStatusOf({ data: { createTransfer: null }, errors: [error(code, path)] })).toBe(200);
      }
    }
  });
});

describe('rootFieldsOf', () => {
  function count(source: string): number {
    const document = parse(source);
    return rootFieldsOf(document.definitions[0] as OperationDefinitionNode, document).count;
  }

  it('counts response keys through fragments and aliases, __typename aside', () => {
    expect(count('{ viewer { tenant { id } } }')).toBe(1);
    expect(count('{ a: viewer { tenant { id } } b: viewer { tenant { id } } __typename }')).toBe(2);
    expect(count('query { ...F ... on Query { viewer { apiKey { id } } } } fragment F on Query { viewer { tenant { id } } }')).toBe(1);
    expect(count('query { ...F } fragment F on Query { viewer { tenant { id } } accounts { edges { cursor } } }')).toBe(2);
  });

  it('enters each fragment once: a chain spreading the next one twice stays linear', () => {
    const depth = 20;
    const fragments = Array.from({ length: depth }, (_, i) => `fragment F${i} on Query { f${i}: viewer { tenant { id } } ${i + 1 < depth ? `...F${i + 1} ...F${i + 1}` : ''} }`);
    const document = parse(`query { ...F0 } ${fragments.join(' ')}`);
    // Count how often the walk enters a fragment's selection set (2^20 if it re-entered at each spread).
    let entered = 0;
    const counted = {
      ...document,
      definitions: document.definitions.map((definition) => {
        if (definition.kind !== 'FragmentDefinition') return definition;
        return Object.defineProperty({ ...definition }, 'selectionSet', {
          get: () => {
            entered += 1;
            return definition.selectionSet;
          },
        });
      }),
    };
    expect(rootFieldsOf(counted.definitions[0] as OperationDefinitionNode, counted).count).toBe(depth);
    expect(entered).toBe(depth);
  });
  it('leaves out root fields @skip/@include do not run, under the coerced variables (defaults applied)', () => {
    const schema = buildLedgerSchema();
    const source =
      'query($s: Boolean = true, $i: Boolean = false) { viewer { tenant { id } } accounts @skip(if: $s) { edges { cursor } } ...F @include(if: $i) ... @skip(if: $s) { b: viewer { tenant { id } } } } fragment F on Query { c: viewer { tenant { id } } }';
    const document = parse(source);
    const operation = document.definitions[0] as OperationDefinitionNode;
    const run = (variables: Record<string, unknown>): number => rootFieldsOf(operation, document, coercedVariables(schema, operation, variables) ?? undefined).count;
    expect(run({})).toBe(1);
    expect(run({ s: false })).toBe(3);
    expect(run({ i: true })).toBe(2);
    expect(rootFieldsOf(operation, document).count).toBe(4);
    expect(coercedVariables(schema, operation, { s: 'yes' })).toBeNull();
    // data null: the one root field that ran failed with its own error, so its code decides (was 200).
    const own = { message: 'no', path: ['viewer'], extensions: { code: 'FORBIDDEN' } };
    const root = rootFieldsOf(operation, document, coercedVariables(schema, operation, {}) ?? undefined);
    expect(httpStatusOf({ data: null, errors: [own], rootFieldCount: root.count, typenameKeys: root.typenameKeys })).toBe(403);
  });
});

describe('error answers are bounded and never echo the input', () => {
  function logger() {
    const lines: { level: string; msg: string }[] = [];
    return { log: createLogger({ level: 'debug', write: (line) => void lines.push(JSON.parse(line) as { level: string; msg: string }) }), lines };
  }

  it("maps graphql-js's 'Too many errors processing variables' to BAD_USER_INPUT, without an error-level log line", () => {
    const { log, lines } = logger();
    const error = new GraphQLError('Too many errors processing variables, error limit reached. Execution aborted.');
    expect(formatError(log)({ message: error.message }, error)).toEqual({ message: error.message, extensions: { code: 'BAD_USER_INPUT' } });
    expect(lines.filter((line) => line.level === 'error')).toEqual([]);
  });

  it('maps a codeless variable coercion error to BAD_USER_INPUT without the printed value', () => {
    const { log, lines } = logger();
    const variable = parse('query($input: CreateAccountInput!) { viewer { __typename } }');
    const node = (variable.definitions[0] as OperationDefinitionNode).variableDefinitions?.[0];
    const reason = new GraphQLError('Field "secret" is not defined by type "CreateAccountInput".');
    const printed = `{ name: "${'x'.repeat(5_000)}", secret: "hunter2" }`;
    const error = new GraphQLError(`Variable "$input" got invalid value ${printed}; ${reason.message}`, { nodes: node, originalError: reason });
    const formatted = formatError(log)({ message: error.message }, error);
    expect(formatted.extensions).toEqual({ code: 'BAD_USER_INPUT' });
    expect(formatted.message).toBe('Variable "$input" got an invalid value; Field "secret" is not defined by type "CreateAccountInput".');
    expect(lines).toEqual([]);
  });

  it('keeps where in the variable the problem is, and cuts values out of scalar refusals', () => {
    expect(variableErrorMessage('Variable "$input" got invalid value "abc" at "input.amount"; Int cannot represent non-integer value: "abc"', 'Int cannot represent non-integer value: "abc"')).toBe(
      'Variable "$input" got an invalid value at "input.amount"; Int cannot represent non-integer value.',
    );
    expect(variableErrorMessage('Variable "$x" of required type "Int!" was not provided.', undefined)).toBe('Variable "$x" of required type "Int!" was not provided.');
  });

  it('cuts every coded message to 500 characters, never inside a surrogate pair', () => {
    const { log } = logger();
    const long = `${'a'.repeat(498)}😀${'b'.repeat(10_000)}`;
    const error = new GraphQLError(long, { extensions: { code: 'BAD_USER_INPUT' } });
    const formatted = formatError(log)({ message: long, extensions: { code: 'BAD_USER_INPUT' } }, error);
    expect(formatted.message.length).toBeLessThanOrEqual(MAX_ERROR_MESSAGE_LENGTH);
    expect(formatted.message).toBe(`${'a'.repeat(498)}…`);
    expect(boundedMessage('short')).toBe('short');
  });

  it('masks and logs what has no public code', () => {
    const { log, lines } = logger();
    const error = new Error('boom');
    expect(formatError(log)({ message: 'boom' }, error)).toEqual({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(lines.map((line) => line.level)).toEqual(['error']);
  });
});
