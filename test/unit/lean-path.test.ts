import 'reflect-metadata';
import { GraphQLError, isObjectType } from 'graphql';
import { formatError } from '../../src/graphql/errors';
import { buildLedgerSchema } from '../../src/graphql/schema';
import { InsufficientFundsError, LedgerError } from '../../src/ledger/errors';
import { KeyEscalationError } from '../../src/auth/errors';
import { parseRemembered } from '@onceql/ratelimit';

describe('the lean execution path', () => {
  it('plain data fields have no resolver: graphql-js reads the property, no promise, no middleware', () => {
    const schema = buildLedgerSchema();
    const wrapped: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__') || type.name === 'Query' || type.name === 'Mutation') continue;
      for (const field of Object.values(type.getFields())) {
        if (field.resolve !== undefined) wrapped.push(`${type.name}.${field.name}`);
      }
    }
    // Only fields with resolver work of their own (loaders, connections) have a resolver.
    expect(wrapped.sort()).toEqual(['Account.transfers', 'Transfer.fromAccount', 'Transfer.toAccount']);
  });

  it('formatError gives a domain error thrown by a resolver its public code, once', () => {
    const format = formatError({ error: jest.fn(), warn: jest.fn(), info: jest.fn(), debug: jest.fn() } as never);
    const thrown = new GraphQLError('Insufficient funds', { path: ['createTransfer'], originalError: new InsufficientFundsError('acc1') });
    const formatted = format({ message: thrown.message, path: ['createTransfer'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }, thrown);
    expect(formatted.extensions).toEqual({ code: 'INSUFFICIENT_FUNDS', accountId: 'acc1' });
    expect(formatted.path).toEqual(['createTransfer']);

    const escalation = new GraphQLError('x', { path: ['createApiKey'], originalError: new KeyEscalationError('scopes', 'A key cannot grant scopes its creator lacks.') });
    expect(format({ message: 'x', path: ['createApiKey'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }, escalation).extensions).toEqual({ code: 'FORBIDDEN', rule: 'scopes' });
  });

  it('an error outside the table is still masked as INTERNAL_SERVER_ERROR and logged', () => {
    const logger = { error: jest.fn(), warn: jest.fn(), info: jest.fn(), debug: jest.fn() };
    const format = formatError(logger as never);
    for (const original of [new Error('secret detail'), new LedgerError('base class')]) {
      const formatted = format({ message: original.message, extensions: { code: 'INTERNAL_SERVER_ERROR' } }, new GraphQLError(original.message, { originalError: original }));
      expect(formatted).toEqual({ message: 'Internal server error', path: undefined, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    }
    expect(logger.error).toHaveBeenCalledTimes(2);
  });

  it('parses a repeated query once, never keeps a failure or an over-long document', () => {
    const source = 'query LeanPathA { viewer { tenant { id } } }';
    expect(parseRemembered(source, 1000)).toBe(parseRemembered(source, 1000));
    expect(() => parseRemembered('query {', 1000)).toThrow();
    expect(() => parseRemembered('query {', 1000)).toThrow();
    const long = `query LeanPathB { viewer { tenant { id ${' '.repeat(30_000)} } } }`;
    expect(parseRemembered(long, 1000)).not.toBe(parseRemembered(long, 1000));
  });
});
