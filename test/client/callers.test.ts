import { execFile } from 'node:child_process';
import path from 'node:path';
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache } from '@apollo/client';
import { createIdempotencyLink, createRetryLink } from '@onceql/client/apollo';
import { createClient as createUrqlClient, fetchExchange } from '@urql/core';
import { createClient } from '@onceql/client';
import { parse } from 'graphql';
import { startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';

// A refused request's code reaches the caller through every common client: Apollo Client 4,
// urql, graphql-request and @onceql/client. They read it only from a GraphQL body, and Apollo
// Client 4 only from an application/graphql-response+json one, which onceql sends every refusal as.

let server: TestServer;
let apiKey: string;
let readOnlyKey: string;

beforeAll(async () => {
  server = await startTestServer();
  const tenant = await server.newTenant();
  apiKey = tenant.apiKey;
  readOnlyKey = (await server.auth.createApiKey(tenant.tenantId, { name: 'read only', scopes: ['read'] })).secret as string;
});
afterAll(() => server.stop());

interface Refusal {
  readonly name: string;
  readonly query: string;
  readonly variables?: Record<string, unknown>;
  readonly headers: () => Record<string, string>;
  readonly status: number;
  readonly code: string;
}

const refusals: Refusal[] = [
  { name: 'no key (admit step)', query: 'query Who { viewer { tenant { id } } }', headers: () => ({}), status: 401, code: 'UNAUTHENTICATED' },
  {
    name: 'too complex (admit step)',
    query: 'query Big { accounts(first: 100) { edges { node { transfers(first: 100) { edges { node { id } } } } } } }',
    headers: () => ({ 'api-key': apiKey }),
    status: 400,
    code: 'QUERY_TOO_COMPLEX',
  },
  { name: 'validation (Apollo)', query: 'query Bad { nothingHere }', headers: () => ({ 'api-key': apiKey }), status: 400, code: 'GRAPHQL_VALIDATION_FAILED' },
  {
    name: 'scope (execution)',
    query: 'mutation Open($input: CreateAccountInput!) { createAccount(input: $input, idempotencyKey: "k-scope") { id } }',
    variables: { input: { name: 'x', currency: 'EUR' } },
    headers: () => ({ 'api-key': readOnlyKey }),
    status: 403,
    code: 'FORBIDDEN',
  },
];

describe('a refused request’s code reaches the caller', () => {
  it.each(refusals.map((refusal) => [refusal.name, refusal] as const))('Apollo Client 4 with the onceql links: %s', async (_name, refusal) => {
    const link = ApolloLink.from([createRetryLink({ maxAttempts: 3, initialDelayMs: 1 }), createIdempotencyLink(), new HttpLink({ uri: server.url, headers: refusal.headers() })]);
    const client = new ApolloClient({ link, cache: new InMemoryCache() });
    const document = parse(refusal.query);
    const run = refusal.query.startsWith('mutation')
      ? client.mutate({ mutation: document, variables: refusal.variables, errorPolicy: 'all' })
      : client.query({ query: document, variables: refusal.variables, errorPolicy: 'all', fetchPolicy: 'no-cache' });
    const { error } = await run;
    expect(CombinedGraphQLErrors.is(error) ? error.errors[0]?.extensions?.code : String(error)).toBe(refusal.code);
  });

  it.each(refusals.map((refusal) => [refusal.name, refusal] as const))('urql: %s', async (_name, refusal) => {
    const client = createUrqlClient({ url: server.url, exchanges: [fetchExchange], fetchOptions: () => ({ headers: refusal.headers() }), preferGetMethod: false });
    const document = parse(refusal.query);
    const result = refusal.query.startsWith('mutation') ? await client.mutation(document, refusal.variables).toPromise() : await client.query(document, refusal.variables ?? {}).toPromise();
    expect(result.error?.graphQLErrors[0]?.extensions.code).toBe(refusal.code);
  });

  it.each(refusals.map((refusal) => [refusal.name, refusal] as const))('@onceql/client: %s', async (_name, refusal) => {
    const result = await createClient({ url: server.url, headers: refusal.headers(), retry: { maxAttempts: 3, initialDelayMs: 1 } }).request(refusal.query, refusal.variables);
    expect([result.status, result.code, result.attempts]).toEqual([refusal.status, refusal.code, 1]);
  });

  it('graphql-request (an ES module, in its own Node process), for every refusal', async () => {
    const cases = refusals.map((refusal) => ({ query: refusal.query, variables: refusal.variables, headers: refusal.headers() }));
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [path.join(__dirname, 'graphql-request.probe.mjs'), server.url, JSON.stringify(cases)], { timeout: 20_000 }, (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out)));
    });
    const probe = JSON.parse(stdout) as { esmExports: string[]; codes: { status: number; code: string | null }[] };
    expect(probe.esmExports).toEqual(['function', 'function']);
    expect(probe.codes).toEqual(refusals.map((refusal) => ({ status: refusal.status, code: refusal.code })));
  });
});
