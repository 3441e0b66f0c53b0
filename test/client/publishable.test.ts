import { randomUUID } from 'node:crypto';
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { createClient } from '@onceql/client';
import { createIdempotencyLink, createRetryLink } from '@onceql/client/apollo';
import { getOperationAST, parse } from 'graphql';
import type { DocumentNode } from 'graphql';
import { documentHash } from '../../src/admit/persisted';
import { checkTrustedDocuments } from '../../src/admit/trusted-documents';
import { buildLedgerSchema } from '../../src/graphql/schema';
import { DEFAULT_QUERY_LIMITS } from '@onceql/ratelimit';
import { ledgerClient } from '../helpers/ledger';
import { gql, startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';

// Keys safe in a browser: a publishable key runs only the trusted documents registered for its
// tenant, named by extensions.persistedQuery.sha256Hash (Apollo's persisted-query link, codegen's
// client preset manifest). Anything else is 403 PERSISTED_QUERY_NOT_IN_LIST, while the tenant's
// secret keys go on as before.

const SEND = 'mutation Send($input: CreateTransferInput!) { createTransfer(input: $input) { id amount reference } }';
const BALANCES = 'query Balances { accounts(first: 10) { edges { node { id name balance } } } }';
const manifest = Object.fromEntries([SEND, BALANCES].map((text) => [documentHash(text), text]));
const limits = { ...DEFAULT_QUERY_LIMITS, maxCost: 1000 };

let server: TestServer;
let tenantId: string;
let secretKey: string;
let publishableKey: string;
let otherPublishableKey: string;
let funding: string;
let shop: string;

beforeAll(async () => {
  server = await startTestServer();
  ({ tenantId, apiKey: secretKey } = await server.newTenant());
  const checked = checkTrustedDocuments(buildLedgerSchema(), manifest, limits);
  expect(checked.problems).toEqual([]);
  expect(await server.auth.registerDocuments(tenantId, checked.documents)).toBe(2);
  publishableKey = (await server.auth.createApiKey(tenantId, { name: 'web', scopes: ['read', 'write'], publishable: true })).secret as string;
  // Another tenant with a publishable key and no documents.
  const other = await server.newTenant();
  otherPublishableKey = (await server.auth.createApiKey(other.tenantId, { name: 'web', scopes: ['read', 'write'], publishable: true })).secret as string;
  const ledger = ledgerClient(server.url, secretKey);
  funding = await ledger.account('Funding', 'EUR', true);
  shop = await ledger.account('Shop');
});
afterAll(() => server.stop());

const persisted = (text: string) => ({ persistedQuery: { version: 1, sha256Hash: documentHash(text) } });

async function send(key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', 'api-key': key, ...headers }, body: JSON.stringify(body) });
  return { status: response.status, replayed: response.headers.get('idempotent-replayed'), body: (await response.json()) as { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] } };
}

const code = (answer: { body: { errors?: { extensions?: { code?: string } }[] } }) => answer.body.errors?.[0]?.extensions?.code;

describe('publishable keys run only trusted documents', () => {
  it('runs a registered query and a registered mutation named by hash alone (POST and GET)', async () => {
    const balances = await send(publishableKey, { extensions: persisted(BALANCES) });
    expect([balances.status, code(balances)]).toEqual([200, undefined]);
    expect(JSON.stringify(balances.body.data)).toContain('Funding');
    const key = randomUUID();
    const input = { fromAccountId: funding, toAccountId: shop, amount: '250', currency: 'EUR', reference: 'web' };
    const first = await send(publishableKey, { operationName: 'Send', variables: { input }, extensions: persisted(SEND) }, { 'idempotency-key': key });
    const again = await send(publishableKey, { operationName: 'Send', variables: { input }, extensions: persisted(SEND) }, { 'idempotency-key': key });
    expect([first.status, again.status, again.replayed]).toEqual([200, 200, 'true']);
    expect(again.body.data).toEqual(first.body.data);
    const search = new URLSearchParams({ extensions: JSON.stringify(persisted(BALANCES)) });
    const viaGet = await fetch(`${server.url}?${search}`, { headers: { 'api-key': publishableKey, 'apollo-require-preflight': 'true' } });
    expect(viaGet.status).toBe(200);
  });

  it.each([
    ['the text of a registered document, without its hash', () => ({ query: BALANCES })],
    ['an unregistered document', () => ({ query: '{ apiKeys { id } }' })],
    ['an unregistered hash', () => ({ extensions: persisted('{ apiKeys { id } }') })],
    ['a registered hash with other text smuggled beside it', () => ({ query: '{ apiKeys { id name } }', extensions: persisted(BALANCES) })],
    ['a malformed hash', () => ({ extensions: { persistedQuery: { version: 1, sha256Hash: 'XYZ' } } })],
    ['nothing at all', () => ({})],
  ])('refuses %s with 403 PERSISTED_QUERY_NOT_IN_LIST', async (_name, body) => {
    const refused = await send(publishableKey, body());
    expect([refused.status, code(refused), refused.body.data]).toEqual([403, 'PERSISTED_QUERY_NOT_IN_LIST', undefined]);
  });

  it("refuses another tenant's documents, and leaves the tenant's secret keys free", async () => {
    const foreign = await send(otherPublishableKey, { extensions: persisted(BALANCES) });
    expect([foreign.status, code(foreign)]).toEqual([403, 'PERSISTED_QUERY_NOT_IN_LIST']);
    const secret = await send(secretKey, { query: '{ apiKeys { name } }' });
    expect([secret.status, code(secret)]).toEqual([200, undefined]);
    // Nothing moved but the one transfer of the test above.
    const balance = await gql<{ account: { balance: string } }>(server.url, 'query($id: ID!) { account(id: $id) { balance } }', { id: shop }, { 'api-key': secretKey });
    expect(balance.body.data?.account.balance).toBe('250');
  });

  it("works from Apollo Client 4 with Apollo's persisted-query link, and its refusals reach the caller", async () => {
    // As codegen's client preset suggests: the hash comes from the manifest, not from the printed
    // document (Apollo Client adds __typename, so its print differs from the registered text).
    const hashOf = (document: DocumentNode): string => {
      const name = getOperationAST(document)?.name?.value;
      const text = [SEND, BALANCES].find((candidate) => getOperationAST(parse(candidate))?.name?.value === name);
      return text === undefined ? documentHash(`unregistered ${name ?? ''}`) : documentHash(text);
    };
    const link = ApolloLink.from([createIdempotencyLink(), createRetryLink({ maxAttempts: 2, initialDelayMs: 1 }), new PersistedQueryLink({ generateHash: hashOf }), new HttpLink({ uri: server.url, headers: { 'api-key': publishableKey } })]);
    const client = new ApolloClient({ link, cache: new InMemoryCache() });
    const sent = await client.mutate({ mutation: parse(SEND), variables: { input: { fromAccountId: funding, toAccountId: shop, amount: '1', currency: 'EUR', reference: 'apollo' } } });
    expect((sent.data as { createTransfer: { reference: string } }).createTransfer.reference).toBe('apollo');
    const refused = await client.query({ query: parse('query Keys { apiKeys { id } }'), fetchPolicy: 'no-cache', errorPolicy: 'all' });
    expect(CombinedGraphQLErrors.is(refused.error) ? refused.error.errors[0]?.extensions?.code : refused.error).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    const fetchClient = await createClient({ url: server.url, apiKey: publishableKey }).request(BALANCES, undefined, { extensions: persisted(BALANCES) });
    expect([fetchClient.status, fetchClient.code]).toEqual([200, undefined]);
  });
});

describe('registering trusted documents', () => {
  it('prices and checks every document first, and refuses the whole manifest for one bad entry', () => {
    const schema = buildLedgerSchema();
    const checked = checkTrustedDocuments(schema, manifest, limits);
    expect([...checked.costs.values()].every((cost) => cost > 0)).toBe(true);
    const tooBig = '{ accounts(first: 100) { edges { node { transfers(first: 100) { edges { node { id } } } } } } }';
    const bad = checkTrustedDocuments(schema, { ...manifest, [documentHash('{ nothingHere }')]: '{ nothingHere }', ['0'.repeat(64)]: BALANCES, [documentHash(tooBig)]: tooBig }, limits);
    expect(bad.problems.map((problem) => problem.problem)).toEqual([expect.stringMatching(/nothingHere/), 'the hash is not the SHA-256 of the document text', expect.stringMatching(/^too complex/)]);
    expect(checkTrustedDocuments(schema, ['not', 'an', 'object'], limits).problems).toHaveLength(1);
  });

  it('the store refuses a hash that is not the text’s and an unknown tenant, writing nothing', async () => {
    await expect(server.auth.registerDocuments(tenantId, new Map([['0'.repeat(64), BALANCES]]))).rejects.toThrow(/SHA-256/);
    await expect(server.auth.registerDocuments('nosuchtenant', new Map([[documentHash(BALANCES), BALANCES]]))).rejects.toThrow(/no tenant/);
    expect(await server.auth.findDocument(tenantId, '0'.repeat(64))).toBeNull();
  });
});
