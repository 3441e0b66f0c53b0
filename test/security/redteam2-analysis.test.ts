import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { DEFAULT_QUERY_LIMITS } from '@onceql/ratelimit';
import { gql, startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';

/**
 * The second red team's findings against the query analysis, each made to happen over real HTTP:
 * the answer is checked (status, code, reason, size in bytes), and so is a normal client served at
 * the same time. Assertions are on answers and counters, never on wall time.
 */

const NORMAL = '{ viewer { tenant { id } } }';

interface Answer {
  status: number;
  bytes: number;
  json: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[]; extensions?: { cost?: { requestedQueryCost?: number; actualQueryCost?: number | null } } };
}

async function post(url: string, body: unknown, headers: Record<string, string>): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, bytes: Buffer.byteLength(text), json: JSON.parse(text) as Answer['json'] };
}

const codeOf = (answer: Answer): unknown => answer.json.errors?.[0]?.extensions?.code;

/** 100 full-length IPv6 ranges (43 characters each): the largest allowlist a key may hold. */
function fullAllowlist(key: number): string[] {
  return Array.from({ length: 100 }, (_, i) => `2001:0db8:85a3:${key.toString(16).padStart(4, '0')}:0000:8a2e:${i.toString(16).padStart(4, '0')}:0000/128`);
}

describe('red team, second pass: the query analysis', () => {
  let server: TestServer;
  let tenantId: string;
  let apiKey: string;

  beforeAll(async () => {
    server = await startTestServer();
    ({ tenantId, apiKey } = await server.newTenant('redteam2'));
  });
  afterAll(async () => {
    await server.stop();
  });

  it('1. aliased allowlists are priced by their size: 30 aliases over full allowlists are refused, small; the listing itself is served', async () => {
    for (let key = 0; key < 10; key += 1) {
      const allowlist = fullAllowlist(key);
      expect(allowlist[0]).toHaveLength(43);
      await server.auth.createApiKey(tenantId, { name: `wide ${key}`, scopes: ['read'], ipAllowlist: allowlist });
    }
    const headers = { 'api-key': apiKey };
    const attack = { query: `{ apiKeys { ${Array.from({ length: 30 }, (_, i) => `a${i}: ipAllowlist`).join(' ')} } }` };
    const [refused, normal] = await Promise.all([post(server.url, attack, headers), gql(server.url, NORMAL, {}, headers)]);
    expect([refused.status, codeOf(refused), refused.json.data]).toEqual([400, 'QUERY_TOO_COMPLEX', undefined]);
    // 100 keys × (1 + 30 allowlists × 7 points): the price, not the 1.3 MB this tenant's keys would make.
    expect(refused.json.errors?.[0]?.message).toContain('would cost 21100 points');
    expect(refused.bytes).toBeLessThan(2048);
    expect([normal.status, normal.body.data]).toEqual([200, { viewer: { tenant: { id: tenantId } } }]);

    // The listing a client needs: priced under QUERY_COST_MAX, counted with the same rule after.
    const listing = await post(server.url, { query: '{ apiKeys { id scopes ipAllowlist } }' }, headers);
    expect([listing.status, listing.json.errors]).toEqual([200, undefined]);
    expect((listing.json.data as { apiKeys: unknown[] }).apiKeys).toHaveLength(11);
    // 10 keys × (1 + scopes 1 + 100 ranges 7) + the tenant's own key (1 + 1 + 0).
    expect(listing.json.extensions?.cost).toMatchObject({ requestedQueryCost: 100 * (1 + 1 + 7), actualQueryCost: 10 * 9 + 2 });
    const entries = (listing.json.data as { apiKeys: { ipAllowlist: string[] }[] }).apiKeys.map((key) => key.ipAllowlist.length).sort((a, b) => a - b);
    expect(entries).toEqual([0, ...Array.from({ length: 10 }, () => 100)]);
  });

  it('2. a long query or a long string literal is refused before it is parsed and validated, with or without a known key', async () => {
    const headers = { 'api-key': apiKey };
    // The red team's document: 8 different strings of 120 KB, ~960 KB in 40 tokens.
    const huge = { query: `{ ${Array.from({ length: 8 }, (_, i) => `a${i}: account(id: "${String(i).repeat(120_000)}") { id }`).join(' ')} }` };
    const long = { query: `{ a: account(id: "${'x'.repeat(3000)}") { id } b: account(id: "${'y'.repeat(3000)}") { id } }` };
    const [hugeAnswer, longAnswer, normal] = await Promise.all([post(server.url, huge, headers), post(server.url, long, headers), gql(server.url, NORMAL, {}, headers)]);
    expect([hugeAnswer.status, codeOf(hugeAnswer), hugeAnswer.json.errors?.[0]?.message]).toEqual([
      400,
      'QUERY_TOO_COMPLEX',
      `The query is too complex: the query is longer than ${DEFAULT_QUERY_LIMITS.maxQueryLength} characters.`,
    ]);
    expect([longAnswer.status, codeOf(longAnswer), longAnswer.json.errors?.[0]?.message]).toEqual([
      400,
      'QUERY_TOO_COMPLEX',
      `The query is too complex: a string in the query is longer than ${DEFAULT_QUERY_LIMITS.maxStringLiteralLength} characters.`,
    ]);
    // Neither answer echoes the strings.
    expect(Math.max(hugeAnswer.bytes, longAnswer.bytes)).toBeLessThan(2048);
    expect([normal.status, normal.body.data]).toEqual([200, { viewer: { tenant: { id: tenantId } } }]);

    // Without a key, or with a made-up one, nothing of the document is looked at.
    const madeUp = `oq_${tenantId}_${randomUUID().replace(/-/g, '')}`;
    const anonymous = await Promise.all([post(server.url, huge, {}), post(server.url, huge, { 'api-key': madeUp })]);
    expect(anonymous.map((answer) => [answer.status, codeOf(answer), answer.bytes < 2048])).toEqual([
      [401, 'UNAUTHENTICATED', true],
      [401, 'UNAUTHENTICATED', true],
    ]);
  });

  it('3. directives on variable definitions count against maxDirectives', async () => {
    const over = DEFAULT_QUERY_LIMITS.maxDirectives + 1;
    const query = `query(${Array.from({ length: over }, (_, i) => `$v${i}: Int @deprecated`).join(', ')}) { viewer { tenant { id } } }`;
    const [refused, normal] = await Promise.all([post(server.url, { query }, { 'api-key': apiKey }), gql(server.url, NORMAL, {}, { 'api-key': apiKey })]);
    expect([refused.status, codeOf(refused), refused.json.errors?.[0]?.message]).toEqual([400, 'QUERY_TOO_COMPLEX', expect.stringContaining(`${over} directives`)]);
    expect([normal.status, normal.body.data]).toEqual([200, { viewer: { tenant: { id: tenantId } } }]);
  });
});
