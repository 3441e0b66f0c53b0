import 'reflect-metadata';
import { ApolloServer } from '@apollo/server';
import { toApiError } from '../../src/graphql/errors';
import { operationChecksPlugin } from '../../src/graphql/operation-checks.plugin';
import { buildLedgerSchema } from '../../src/graphql/schema';
import { argumentChecks } from '../../src/graphql/validate-arguments';

// The scope check, the variables and the argument checks run in one walk over the operation's
// fields (operation-checks.plugin.ts). These are the refusals whose order and reach one walk could
// get wrong: the scope refusal before the others, fragments left out by @skip counted for scopes
// but not for arguments, and a fragment whose first spread is skipped checked where it runs.
// Every operation here is refused before execution: the context has no ledger, so an operation
// that got through would fail with INTERNAL_SERVER_ERROR instead of the code expected.
interface Principal {
  readonly scopes: readonly string[];
}

describe('operation checks: scopes, variables and arguments in one walk', () => {
  const schema = buildLedgerSchema();
  const apollo = new ApolloServer<{ principal: Principal }>({
    schema,
    plugins: [operationChecksPlugin({ scopesOf: (context) => context.principal.scopes, checks: argumentChecks(schema), toGraphQLError: toApiError })],
  });
  beforeAll(() => apollo.start());
  afterAll(() => apollo.stop());

  async function refusal(query: string, variables: Record<string, unknown>, scopes: readonly string[]): Promise<{ code: unknown; message: string }[]> {
    const response = await apollo.executeOperation({ query, variables }, { contextValue: { principal: { scopes } } });
    if (response.body.kind !== 'single') throw new Error('expected a single answer');
    const { data, errors } = response.body.singleResult;
    expect(data).toBeUndefined(); // refused before execution: nothing ran
    return (errors ?? []).map((error) => ({ code: error.extensions?.code, message: error.message }));
  }

  it('refuses for the scopes first, even when the variables and an argument are bad too', async () => {
    const query = 'query($n: Int!) { accounts(first: $n) { edges { node { id transfers(first: 0) { edges { node { id } } } } } } }';
    expect(await refusal(query, { n: 'many' }, ['write'])).toEqual([
      { code: 'FORBIDDEN', message: 'Query.accounts needs the READ scope; Account.transfers needs the READ scope, which this api key does not have. Nothing was executed.' },
    ]);
  });

  it('then for the variables, then for the first bad argument in document order', async () => {
    const query = 'query($n: Int!) { accounts(first: $n) { edges { node { id } } } transfers(first: 0) { edges { node { id } } } }';
    const [variables] = await refusal(query, { n: 'many' }, ['read']);
    expect(variables?.code).toBe('BAD_USER_INPUT');
    expect(variables?.message).toMatch(/^Variable "\$n"/);
    const second = 'query { accounts(first: 5) { edges { node { id transfers(after: "bm9wZQ") { edges { node { id } } } } } } transfers(first: 0) { edges { node { id } } } }';
    expect(await refusal(second, {}, ['read'])).toEqual([{ code: 'BAD_USER_INPUT', message: expect.stringContaining('after must be a cursor') }]);
  });

  it('counts a fragment left out by @skip for the scopes', async () => {
    const query = 'query($s: Boolean!) { viewer { apiKey { id } } ...Reads @skip(if: $s) } fragment Reads on Query { accounts(first: 1) { edges { node { id } } } }';
    expect(await refusal(query, { s: true }, [])).toEqual([{ code: 'FORBIDDEN', message: expect.stringContaining('Query.accounts needs the READ scope') }]);
  });

  it('checks the arguments of a fragment where it runs, when its first spread is skipped', async () => {
    const query = `query($s: Boolean!) {
      skipped: viewer { tenant { id } } ...Page @skip(if: $s)
      a: accounts(first: 1) { edges { node { id ...Page2 } } }
    }
    fragment Page on Query { transfers(first: 1) { edges { node { fromAccount { ...Page2 } } } } }
    fragment Page2 on Account { transfers(first: 101) { edges { node { id } } } }`;
    expect(await refusal(query, { s: true }, ['read'])).toEqual([{ code: 'BAD_USER_INPUT', message: expect.stringContaining('first must be between 1 and 100') }]);
  });

  it('decides per request what the request decides, when the same text comes again (its plan is remembered)', async () => {
    const query = 'query($n: Int!) { accounts(first: $n) { edges { node { id transfers(first: 20) { edges { node { id } } } } } } }';
    for (let round = 0; round < 2; round++) {
      expect((await refusal(query, { n: 1 }, ['write'])).map(({ code }) => code)).toEqual(['FORBIDDEN']);
      expect((await refusal(query, { n: 'x' }, ['read'])).map(({ code }) => code)).toEqual(['BAD_USER_INPUT']);
      expect(await refusal(query, { n: 0 }, ['read'])).toEqual([{ code: 'BAD_USER_INPUT', message: expect.stringContaining('first must be between 1 and 100') }]);
    }
  });
});
