import { AccountDocument, AccountsDocument, AccountWithTransfersDocument, TransferDocument, TransfersWithAccountNamesDocument, ViewerDocument } from '../generated/graphql';
import { ledgerClient } from '../helpers/ledger';
import { codes, gql, startTestServer } from '../helpers/server';
import type { GraphQLResponse, TestServer } from '../helpers/server';
import type { AccountWithTransfersQuery } from '../generated/graphql';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

async function newLedger() {
  const tenant = await server.newTenant();
  const client = ledgerClient(server.url, tenant.apiKey);
  const funding = await client.account('Funding', 'EUR', true);
  const alice = await client.account('Alice');
  const bob = await client.account('Bob');
  return { ...tenant, client, funding, alice, bob };
}

async function balances(apiKey: string, ...ids: string[]): Promise<(string | undefined)[]> {
  return Promise.all(ids.map(async (id) => (await gql(server.url, AccountDocument, { id }, { 'api-key': apiKey })).body.data?.account?.balance));
}

describe('accounts and transfers', () => {
  it('creates accounts, moves money and keeps every currency summing to zero', async () => {
    const { client, funding, alice, bob, apiKey } = await newLedger();
    const first = await client.transfer(funding, alice, '1050', 'EUR', 'top-up');
    expect(first.status).toBe(200);
    expect(first.body.data?.createTransfer).toMatchObject({
      amount: '1050',
      currency: 'EUR',
      reference: 'top-up',
      fromAccount: { id: funding, balance: '-1050' },
      toAccount: { id: alice, balance: '1050' },
    });
    await client.transfer(alice, bob, '50');
    expect(await balances(apiKey, funding, alice, bob)).toEqual(['-1050', '1000', '50']);

    const id = first.body.data?.createTransfer?.id as string;
    const read = await gql(server.url, TransferDocument, { id }, client.headers);
    expect(read.body.data?.transfer).toEqual({ id, amount: '1050', currency: 'EUR', reference: 'top-up', fromAccount: { id: funding }, toAccount: { id: alice } });
  });

  it('accepts a JSON integer amount and refuses a float', async () => {
    const { funding, alice, client } = await newLedger();
    const viaNumber = await gql(server.url, 'mutation($a: Amount!, $f: ID!, $t: ID!) { createTransfer(input: {fromAccountId: $f, toAccountId: $t, amount: $a, currency: "EUR"}, idempotencyKey: "int-25") { amount } }', { a: 25, f: funding, t: alice }, client.headers);
    expect(viaNumber.body.data).toEqual({ createTransfer: { amount: '25' } });
    const viaFloat = await gql(server.url, 'mutation($a: Amount!, $f: ID!, $t: ID!) { createTransfer(input: {fromAccountId: $f, toAccountId: $t, amount: $a, currency: "EUR"}, idempotencyKey: "float") { amount } }', { a: 2.5, f: funding, t: alice }, client.headers);
    expect(viaFloat.status).toBe(400);
    expect(codes(viaFloat)).toEqual(['BAD_USER_INPUT']);
  });

  it('pages accounts and an account\'s transfers oldest first with opaque cursors', async () => {
    const { client, funding, alice, bob } = await newLedger();
    const page1 = await gql(server.url, AccountsDocument, { first: 2 }, client.headers);
    expect(page1.body.data?.accounts.edges.map((edge) => edge.node.id)).toEqual([funding, alice]);
    expect(page1.body.data?.accounts.pageInfo.hasNextPage).toBe(true);
    const page2 = await gql(server.url, AccountsDocument, { first: 2, after: page1.body.data?.accounts.pageInfo.endCursor ?? null }, client.headers);
    expect(page2.body.data?.accounts.edges.map((edge) => edge.node.id)).toEqual([bob]);
    expect(page2.body.data?.accounts.pageInfo).toEqual({ hasNextPage: false, endCursor: page2.body.data?.accounts.edges[0]?.cursor });

    const amounts = ['1', '2', '3', '4', '5'];
    for (const amount of amounts) await client.transfer(funding, alice, amount);
    await client.transfer(funding, bob, '99');
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const response: GraphQLResponse<AccountWithTransfersQuery> = await gql(server.url, AccountWithTransfersDocument, { id: alice, first: 2, after }, client.headers);
      const connection = response.body.data?.account?.transfers;
      seen.push(...(connection?.edges.map((edge) => edge.node.amount) ?? []));
      if (!connection?.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(seen).toEqual(amounts);
    const all = await gql(server.url, TransfersWithAccountNamesDocument, {}, client.headers);
    expect(all.body.data?.transfers.edges.map((edge) => edge.node.amount)).toEqual([...amounts, '99']);
  });

  it('answers viewer with the calling key and tenant', async () => {
    const { tenantId, apiKey } = await server.newTenant('viewer-tenant');
    const response = await gql(server.url, ViewerDocument, {}, { 'api-key': apiKey });
    expect(response.body.data?.viewer).toMatchObject({ tenant: { id: tenantId, name: 'viewer-tenant' }, apiKey: { scopes: ['READ', 'WRITE', 'ADMIN'] } });
    expect(apiKey.startsWith(response.body.data?.viewer.apiKey.prefix as string)).toBe(true);
  });
});

describe('errors: codes and HTTP statuses', () => {
  it('401 UNAUTHENTICATED without a key, with an unknown key and with a malformed one; introspection included', async () => {
    const { apiKey } = await server.newTenant();
    const forged = `${apiKey.slice(0, -4)}AAAA`;
    for (const headers of [{}, { 'api-key': forged }, { 'api-key': 'hello' }, { authorization: `Bearer ${forged}` }] as Record<string, string>[]) {
      const response = await gql(server.url, '{ __schema { types { name } } }', {}, headers);
      expect(response.status).toBe(401);
      expect(codes(response)).toEqual(['UNAUTHENTICATED']);
      expect(response.body.data).toBeUndefined();
    }
  });

  it('accepts Authorization: Bearer', async () => {
    const { apiKey } = await server.newTenant();
    const response = await gql(server.url, ViewerDocument, {}, { authorization: `Bearer ${apiKey}` });
    expect(response.status).toBe(200);
  });

  it('400 for parse errors, validation errors and bad arguments', async () => {
    const { client, funding, alice } = await newLedger();
    const parse = await gql(server.url, '{ accounts { ', {}, client.headers);
    expect([parse.status, codes(parse)]).toEqual([400, ['GRAPHQL_PARSE_FAILED']]);
    const validation = await gql(server.url, '{ accounts { nope } }', {}, client.headers);
    expect([validation.status, codes(validation)]).toEqual([400, ['GRAPHQL_VALIDATION_FAILED']]);

    const bad = async (amount: string, from: string, to: string, currency: string) => {
      const response = await client.transfer(from, to, amount, currency);
      return [response.status, codes(response)];
    };
    expect(await bad('abc', funding, alice, 'EUR')).toEqual([400, ['BAD_USER_INPUT']]);
    expect(await bad('0', funding, alice, 'EUR')).toEqual([400, ['BAD_USER_INPUT']]);
    expect(await bad('-5', funding, alice, 'EUR')).toEqual([400, ['BAD_USER_INPUT']]);
    expect(await bad('9007199254740992', funding, alice, 'EUR')).toEqual([400, ['BAD_USER_INPUT']]);
    expect(await bad('5', alice, alice, 'EUR')).toEqual([400, ['BAD_USER_INPUT']]);
    expect(await bad('5', funding, alice, 'eur')).toEqual([400, ['BAD_USER_INPUT']]);

    const tooMany = await gql(server.url, AccountsDocument, { first: 101 }, client.headers);
    expect([tooMany.status, codes(tooMany)]).toEqual([400, ['BAD_USER_INPUT']]);
    const badCursor = await gql(server.url, AccountsDocument, { after: 'not-a-cursor' }, client.headers);
    expect([badCursor.status, codes(badCursor)]).toEqual([400, ['BAD_USER_INPUT']]);
    const badAccount = await gql(server.url, 'mutation { createAccount(input: {name: "X", currency: "EURO"}) { id } }', {}, client.headers);
    expect([badAccount.status, codes(badAccount)]).toEqual([400, ['BAD_USER_INPUT']]);
  });

  it('404 NOT_FOUND for an unknown account or another tenant\'s, whose data stays hidden', async () => {
    const mine = await newLedger();
    const theirs = await newLedger();
    await theirs.client.transfer(theirs.funding, theirs.alice, '500');

    const unknown = await mine.client.transfer(mine.funding, 'doesnotexist0000', '5');
    expect([unknown.status, codes(unknown)]).toEqual([404, ['NOT_FOUND']]);
    const foreign = await mine.client.transfer(mine.funding, theirs.alice, '5');
    expect([foreign.status, codes(foreign)]).toEqual([404, ['NOT_FOUND']]);
    const stealing = await mine.client.transfer(theirs.alice, mine.alice, '5');
    expect([stealing.status, codes(stealing)]).toEqual([404, ['NOT_FOUND']]);
    const weird = await mine.client.transfer(mine.funding, 'x:transfers', '5');
    expect([weird.status, codes(weird)]).toEqual([404, ['NOT_FOUND']]);

    const read = await gql(server.url, AccountDocument, { id: theirs.alice }, mine.client.headers);
    expect([read.status, read.body.data]).toEqual([200, { account: null }]);
    expect(await balances(theirs.apiKey, theirs.funding, theirs.alice)).toEqual(['-500', '500']);
  });

  it('422 INSUFFICIENT_FUNDS when overdrawing, and nothing changes', async () => {
    const { client, funding, alice, bob, apiKey } = await newLedger();
    await client.transfer(funding, alice, '100');
    const overdraw = await client.transfer(alice, bob, '101');
    expect(overdraw.status).toBe(422);
    expect(codes(overdraw)).toEqual(['INSUFFICIENT_FUNDS']);
    expect(overdraw.body.data).toEqual({ createTransfer: null });
    expect(await balances(apiKey, funding, alice, bob)).toEqual(['-100', '100', '0']);
    const list = await gql(server.url, TransfersWithAccountNamesDocument, { accountId: bob }, client.headers);
    expect(list.body.data?.transfers.edges).toEqual([]);
    const exact = await client.transfer(alice, bob, '100');
    expect(exact.status).toBe(200);
    expect(await balances(apiKey, alice, bob)).toEqual(['0', '100']);
  });

  it('422 CURRENCY_MISMATCH when the currencies differ', async () => {
    const { client, funding, alice, apiKey } = await newLedger();
    const usd = await client.account('Dollars', 'USD');
    for (const [from, to, currency] of [[funding, usd, 'EUR'], [funding, usd, 'USD'], [funding, alice, 'USD']] as const) {
      const response = await client.transfer(from, to, '5', currency);
      expect([response.status, codes(response)]).toEqual([422, ['CURRENCY_MISMATCH']]);
    }
    expect(await balances(apiKey, funding, alice, usd)).toEqual(['0', '0', '0']);
  });

  it('422 BALANCE_LIMIT_EXCEEDED before a balance leaves ±(2^53-1)', async () => {
    const { client, funding, alice } = await newLedger();
    expect((await client.transfer(funding, alice, '9007199254740991')).status).toBe(200);
    const more = await client.transfer(funding, alice, '1');
    expect([more.status, codes(more)]).toEqual([422, ['BALANCE_LIMIT_EXCEEDED']]);
  });

  it('200 with partial data when one of two root fields fails', async () => {
    const { client, funding, alice } = await newLedger();
    const response = await gql(
      server.url,
      `mutation { ok: createTransfer(input: {fromAccountId: "${funding}", toAccountId: "${alice}", amount: "5", currency: "EUR"}, idempotencyKey: "ok-1") { amount }
                  bad: createTransfer(input: {fromAccountId: "${alice}", toAccountId: "${funding}", amount: "50", currency: "EUR"}, idempotencyKey: "bad-1") { amount } }`,
      {},
      client.headers,
    );
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ ok: { amount: '5' }, bad: null });
    expect(codes(response)).toEqual(['INSUFFICIENT_FUNDS']);
  });

  it('500 INTERNAL_SERVER_ERROR for the unexpected, masked, with the details in the log', async () => {
    const { tenantId, apiKey } = await server.newTenant();
    // Corrupt the tenant's account index so that reading it fails inside Redis (WRONGTYPE).
    await server.redis.set(`oq:{t:${tenantId}}:accounts`, 'not a sorted set');
    const response = await gql(server.url, AccountsDocument, {}, { 'api-key': apiKey });
    expect(response.status).toBe(500);
    expect(response.body.errors).toEqual([{ message: 'Internal server error', path: ['accounts'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
    expect(JSON.stringify(server.logger.lines)).toContain('WRONGTYPE');
  });
});

describe('HTTP surface', () => {
  it('echoes X-Request-Id, or makes one, and sends X-Api-Version', async () => {
    const { apiKey } = await server.newTenant();
    const echoed = await gql(server.url, ViewerDocument, {}, { 'api-key': apiKey, 'x-request-id': 'req-123' });
    expect(echoed.headers.get('x-request-id')).toBe('req-123');
    expect(echoed.headers.get('x-api-version')).toBe('2026-11-22');
    const made = await gql(server.url, ViewerDocument, {}, { 'api-key': apiKey });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('400 BAD_USER_INPUT for an unknown pinned X-Api-Version, listing the supported ones', async () => {
    const { apiKey } = await server.newTenant();
    const response = await gql(server.url, ViewerDocument, {}, { 'api-key': apiKey, 'x-api-version': '1999-01-01' });
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', supportedVersions: ['2026-11-22'] });
    const pinned = await gql(server.url, ViewerDocument, {}, { 'api-key': apiKey, 'x-api-version': '2026-11-22' });
    expect(pinned.status).toBe(200);
  });

  it('serves /healthz and /readyz', async () => {
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
    const ready = await fetch(`${server.origin}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready' }]);
  });

  it('lets Apollo Studio preflight with api-key and idempotency-key, and not other origins', async () => {
    const preflight = (origin: string) =>
      fetch(server.url, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'api-key, idempotency-key, content-type' },
      });
    const studio = await preflight('https://studio.apollographql.com');
    expect(studio.status).toBe(204);
    expect(studio.headers.get('access-control-allow-origin')).toBe('https://studio.apollographql.com');
    for (const header of ['api-key', 'idempotency-key', 'content-type']) expect(studio.headers.get('access-control-allow-headers')).toContain(header);
    const evil = await preflight('https://evil.example');
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('passes CSRF prevention for a GET that carries api-key, and blocks a simple GET', async () => {
    const { apiKey } = await server.newTenant();
    const query = `${server.url}?query=${encodeURIComponent('{ viewer { tenant { id } } }')}`;
    const withKey = await fetch(query, { headers: { 'api-key': apiKey } });
    expect(withKey.status).toBe(200);
    // A browser's simple (cross-site) GET cannot carry the api-key header: refused.
    expect((await fetch(query)).status).toBe(401);
  });

  it('400 for a body that is not JSON (401 without a key: a body is not read before a key is there)', async () => {
    const { apiKey } = await server.newTenant();
    const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', 'api-key': apiKey }, body: '{"query": ' });
    expect(response.status).toBe(400);
    const anonymous = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
    expect(anonymous.status).toBe(401);
  });
});
