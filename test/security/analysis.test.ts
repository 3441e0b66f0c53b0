import 'reflect-metadata';
import { getIntrospectionQuery, parse, visit } from 'graphql';
import { buildLedgerSchema } from '../../src/graphql/schema';
import { LedgerStore } from '../../src/ledger/store';
import { analyzeQuery, DEFAULT_QUERY_LIMITS } from '@onceql/ratelimit';
import { codes, gql, startTestServer } from '../helpers/server';
import type { GraphQLResponse, TestServer } from '../helpers/server';

/**
 * Item 1 and 2 of issue 10, tried as an attacker would over real HTTP: a fragment fan-out, a body of
 * 20,000 unknown input fields, connections hidden in fragments. Each attack runs while a normal
 * client and /healthz are served; the assertions are on answers, bytes and visit counts.
 */

/** F0 spreads F1 twice, F1 spreads F2 twice, ...: 2^depth spreads once expanded, ~1 KB of text. */
function fanOut(depth: number, leaf: string): string {
  const fragments = Array.from({ length: depth }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`);
  return `query FanOut { ...F0 } ${fragments.join(' ')} fragment F${depth} on Query { ${leaf} }`;
}

function astSize(query: string): number {
  let nodes = 0;
  visit(parse(query), { enter: () => void (nodes += 1) });
  return nodes;
}

/** Everything the server answers, as text, so its size can be asserted. */
async function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; bytes: number; json: { errors?: { message: string; extensions?: Record<string, unknown> }[] } }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await response.text();
  return { status: response.status, bytes: Buffer.byteLength(text), json: JSON.parse(text) as { errors?: { message: string; extensions?: Record<string, unknown> }[] } };
}

async function healthz(server: TestServer): Promise<number> {
  return (await fetch(`${server.origin}/healthz`)).status;
}

const NORMAL = '{ viewer { tenant { id } } }';

describe('query analysis under attack', () => {
  let server: TestServer;
  let tenantId: string;
  let apiKey: string;
  let readKey: string;
  beforeAll(async () => {
    server = await startTestServer();
    ({ tenantId, apiKey } = await server.newTenant('analysis'));
    readKey = (await server.auth.createApiKey(tenantId, { name: 'read only', scopes: ['read'] })).secret as string;
  });
  afterAll(async () => {
    await server.stop();
  });

  it('analyses a fragment fan-out of depth 25 in visits linear in the document, with or without the spread cap', () => {
    const schema = buildLedgerSchema();
    for (const leaf of ['accounts(first: 1) { edges { node { id } } }', '__typename']) {
      const query = fanOut(25, leaf);
      expect(query.length).toBeLessThan(1500);
      for (const maxSpreads of [DEFAULT_QUERY_LIMITS.maxSpreads, Number.POSITIVE_INFINITY]) {
        const analysis = analyzeQuery(schema, query, undefined, {}, { ...DEFAULT_QUERY_LIMITS, maxCost: 1000, maxSpreads });
        if (analysis.kind === 'unparsed') throw new Error('the fan-out must parse');
        // 2^25 expanded spreads; each node of the document is visited at most once.
        expect(analysis.visitedNodes).toBeLessThanOrEqual(astSize(query));
        expect(analysis.visitedNodes).toBeGreaterThan(25 * 2);
      }
    }
  });

  it('refuses the fan-out over HTTP, with no key, an unknown key and a real key, while a normal client and /healthz are served', async () => {
    const query = fanOut(25, 'accounts(first: 1) { edges { node { id } } }');
    const body = JSON.stringify({ query });
    const unknownKey = `${apiKey.slice(0, -4)}aaaa`;
    const attacks = [
      ...Array.from({ length: 4 }, () => post(server.url, body, {})),
      ...Array.from({ length: 4 }, () => post(server.url, body, { 'api-key': unknownKey })),
      ...Array.from({ length: 8 }, () => post(server.url, body, { 'api-key': apiKey })),
    ];
    const [normal, health] = await Promise.all([gql(server.url, NORMAL, {}, { 'api-key': apiKey }), healthz(server)]);
    const answers = await Promise.all(attacks);
    expect([normal.status, normal.body.data?.viewer, health]).toEqual([200, { tenant: { id: tenantId } }, 200]);
    const summary = answers.map((answer) => [answer.status, answer.json.errors?.[0]?.extensions?.code]);
    expect(summary.slice(0, 8).every(([status, code]) => status === 401 || (status === 429 && code === 'RATE_LIMITED'))).toBe(true);
    expect(summary.slice(8)).toEqual(Array.from({ length: 8 }, () => [400, 'QUERY_TOO_COMPLEX']));
    for (const answer of answers) expect(answer.bytes).toBeLessThan(2048);
  });

  it('answers 20,000 unknown input fields (a 200 KB body) with a small 400 while /healthz answers', async () => {
    const input = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`unknownField${i}`, 'x']));
    const body = JSON.stringify({ query: 'mutation($input: CreateAccountInput!) { createAccount(input: $input) { id } }', variables: { input } });
    expect(body.length).toBeGreaterThan(200_000);
    const attacks = Array.from({ length: 6 }, () => post(server.url, body, { 'api-key': readKey }));
    const [health, normal] = await Promise.all([healthz(server), gql(server.url, NORMAL, {}, { 'api-key': readKey })]);
    const answers = await Promise.all(attacks);
    expect([health, normal.status]).toEqual([200, 200]);
    for (const answer of answers) {
      expect([answer.status, answer.json.errors?.map((error) => error.extensions?.code)]).toEqual([400, ['QUERY_TOO_COMPLEX']]);
      expect(answer.json.errors?.[0]?.message).toContain('20000 keys');
      expect(answer.bytes).toBeLessThan(1024);
    }
  });

  it('keeps the variables a real client sends: an api key with 100 allowlist entries is created', async () => {
    const ipAllowlist = Array.from({ length: 100 }, (_, i) => `10.${i}.0.0/16`);
    const response = await gql(server.url, 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { ipAllowlist } } }', { input: { name: 'n'.repeat(200), scopes: ['READ'], ipAllowlist } }, { 'api-key': apiKey });
    expect([response.status, codes(response)]).toEqual([200, []]);
  });
});

describe('connections hidden in fragments are priced at least what they return', () => {
  let server: TestServer;
  let apiKey: string;
  beforeAll(async () => {
    server = await startTestServer();
    const tenant = await server.newTenant('hidden');
    apiKey = tenant.apiKey;
    // 30 accounts, the first with 12 transfers: enough to fill what the queries ask.
    const ledger = new LedgerStore(server.redis, tenant.tenantId);
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await ledger.createAccount({ name: `a${i}`, currency: 'EUR', allowNegativeBalance: i === 0 })).id);
    for (let i = 0; i < 12; i++) {
      await ledger.createTransfer({ fromAccountId: ids[0] as string, toAccountId: ids[1 + (i % 5)] as string, amount: 10n, currency: 'EUR', reference: null });
    }
  });
  afterAll(async () => {
    await server.stop();
  });

  /** Objects in the answer, counted apart from the server's own rules. */
  function objectsIn(value: unknown): number {
    if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + objectsIn(item), 0);
    if (value === null || typeof value !== 'object') return 0;
    return 1 + Object.values(value).reduce((sum: number, item) => sum + objectsIn(item), 0);
  }

  const queries = {
    fragment: '{ ...Q } fragment Q on Query { accounts(first: 30) { edges { node { id } } } }',
    spreadInsideConnection: '{ accounts(first: 30) { ...C } } fragment C on AccountConnection { edges { node { id name } } }',
    inlineFragment: '{ ... on Query { accounts(first: 30) { ... on AccountConnection { edges { ... on AccountEdge { node { id } } } } } } }',
    nested: '{ accounts(first: 3) { ...C } } fragment C on AccountConnection { edges { node { transfers(first: 10) { ... on TransferConnection { edges { node { id fromAccount { id } } } } } } } }',
    variableDefault: 'query($n: Int = 30) { ... on Query { accounts(first: $n) { edges { node { id } } } } }',
    aliases: '{ a: accounts(first: 30) { ...C } b: accounts(first: 30) { ...C } } fragment C on AccountConnection { edges { node { id } } }',
  };

  it('introspection (what an IDE asks) is priced at least what it returns, and is not free', async () => {
    const response: GraphQLResponse = await gql(server.url, getIntrospectionQuery(), {}, { 'api-key': apiKey });
    expect([response.status, codes(response)]).toEqual([200, []]);
    const cost = response.body.extensions?.cost as { requestedQueryCost: number; actualQueryCost: number };
    const returned = objectsIn(response.body.data) - 1;
    expect(returned).toBeGreaterThan(100);
    expect(cost.actualQueryCost).toBe(returned);
    expect(cost.requestedQueryCost).toBeGreaterThanOrEqual(returned);
  });

  it.each(Object.entries(queries))('%s', async (_name, query) => {
    const response: GraphQLResponse = await gql(server.url, query, {}, { 'api-key': apiKey });
    expect([response.status, codes(response)]).toEqual([200, []]);
    const cost = response.body.extensions?.cost as { requestedQueryCost: number; actualQueryCost: number };
    const returned = objectsIn(response.body.data) - 1; // the data object itself is not a field
    expect(returned).toBeGreaterThan(30);
    expect(cost.actualQueryCost).toBe(returned);
    expect(cost.requestedQueryCost).toBeGreaterThanOrEqual(returned);
  });
});
