import 'reflect-metadata';
import { execute, parse } from 'graphql';
import { buildLedgerSchema } from '../../src/graphql/schema';

// The scope plugin refuses before execution over HTTP (test/security/scopes.test.ts). This is the
// second line: the schema executed without the plugin still refuses a field its key lacks, as the
// field resolves, before the resolver touches anything (the context has no loaders or Redis here:
// a resolver that ran would fail with a TypeError, not FORBIDDEN).
describe('scopes are checked again as each field resolves', () => {
  const schema = buildLedgerSchema();
  const run = async (query: string, scopes: readonly string[]) =>
    execute({ schema, document: parse(query), contextValue: { principal: { scopes, tenantId: 't', keyId: 'k', prefix: 'p' } } });

  it('refuses a root field and a nested mutation field the key lacks, with FORBIDDEN', async () => {
    const read = await run('{ account(id: "acc_1") { id } }', ['write']);
    expect(read.errors?.map((error) => [error.extensions.code, error.message])).toEqual([
      ['FORBIDDEN', 'Query.account needs the READ scope, which this api key does not have.'],
    ]);
    const admin = await run('{ apiKeys { edges { node { id } } } }', ['read', 'write']);
    expect(admin.errors?.map((error) => error.extensions.code)).toEqual(['FORBIDDEN']);
  });
});
