import 'reflect-metadata';
import { isObjectType } from 'graphql';
import { buildLedgerSchema } from '../../src/graphql/schema';
import { argumentChecks } from '../../src/graphql/validate-arguments';

describe('argument checks cover the schema', () => {
  const schema = buildLedgerSchema();
  const checks = argumentChecks(schema);
  const fields = Object.values(schema.getTypeMap())
    .filter(isObjectType)
    .filter((type) => !type.name.startsWith('__'))
    .flatMap((type) => Object.values(type.getFields()).map((field) => ({ coordinate: `${type.name}.${field.name}`, args: field.args.map((arg) => arg.name) })));

  it('every paged field (first/after) and every mutation field has a check that runs before execution', () => {
    const paged = fields.filter(({ args }) => args.includes('first') || args.includes('after')).map(({ coordinate }) => coordinate);
    const mutations = fields.filter(({ coordinate }) => coordinate.startsWith('Mutation.')).map(({ coordinate }) => coordinate);
    expect(paged.length).toBeGreaterThanOrEqual(3);
    for (const coordinate of [...paged, ...mutations]) expect([coordinate, typeof checks[coordinate]]).toEqual([coordinate, 'function']);
  });

  it('refuses what the domain refuses, and passes what it accepts', () => {
    const page = checks['Account.transfers'];
    expect(() => page?.({ first: 0 })).toThrow('first must be between 1 and 100');
    expect(() => page?.({ first: 20, after: 'bm9wZQ' })).toThrow('after must be a cursor');
    expect(() => page?.({ first: 100, after: null })).not.toThrow();
    const createAccount = checks['Mutation.createAccount'];
    expect(() => createAccount?.({ input: { name: 'A\ud800', currency: 'EUR' }, idempotencyKey: null })).toThrow('lone UTF-16 surrogate');
    expect(() => createAccount?.({ input: { name: 'Alice', currency: 'EUR' }, idempotencyKey: 'has space' })).toThrow('Invalid idempotency key');
    expect(() => createAccount?.({ input: { name: 'Alice 🐳', currency: 'EUR' }, idempotencyKey: 'k-1' })).not.toThrow();
  });
});
