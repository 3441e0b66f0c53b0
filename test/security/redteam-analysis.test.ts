import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { codes, gql, startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';
import { ledgerClient } from '../helpers/ledger';

/**
 * A red team's findings against issues 9 and 10, each made to happen over real HTTP: the answer is
 * checked, and so is a normal client served at the same time. Assertions are on answers and
 * counters, never on wall time.
 */

const NORMAL = '{ viewer { tenant { id } } }';

async function post(url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; json: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[]; extensions?: Record<string, unknown> } }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as { errors?: { message: string; extensions?: Record<string, unknown> }[] } };
}

describe('red team: issues 9 and 10', () => {
  let server: TestServer;
  let tenantId: string;
  let apiKey: string;
  let readKey: string;
  beforeAll(async () => {
    server = await startTestServer();
    ({ tenantId, apiKey } = await server.newTenant('redteam'));
    readKey = (await server.auth.createApiKey(tenantId, { name: 'read only', scopes: ['read'] })).secret as string;
  });
  afterAll(async () => {
    await server.stop();
  });

  it('1. refuses documents whose validation is quadratic (same-named fields, an operation that never runs), while a normal client is served', async () => {
    const headers = { 'api-key': readKey };
    const attacks = [
      { query: `{ viewer { tenant { ${'id '.repeat(2980)} } } } #${randomUUID()}` },
      { query: `query A { __typename } query B { viewer { ${'apiKey { id } '.repeat(735)} } } #${randomUUID()}`, operationName: 'A' },
      // The same work spread thinner: under the per-set cap, over the per-key cap.
      { query: `{ ${'viewer { tenant { id id id } } '.repeat(30)} }` },
    ];
    const [answers, normal] = await Promise.all([Promise.all(attacks.map((attack) => post(server.url, attack, headers))), gql(server.url, NORMAL, {}, headers)]);
    expect(answers.map((answer) => [answer.status, answer.json.errors?.[0]?.extensions?.code, answer.json.data])).toEqual(attacks.map(() => [400, 'QUERY_TOO_COMPLEX', undefined]));
    expect(answers[0]?.json.errors?.[0]?.message).toContain('selections');
    expect([normal.status, normal.body.data]).toEqual([200, { viewer: { tenant: { id: tenantId } } }]);
    // A multi-operation document within the caps still runs the operation it names.
    const named = await post(server.url, { query: 'query A { __typename } query B { viewer { tenant { id } } }', operationName: 'B' }, headers);
    expect([named.status, named.json.data]).toEqual([200, { viewer: { tenant: { id: tenantId } } }]);
  });

  it('2. a committed transfer and its replays answer 200 when @skip reads a variable default; a READ key with @include gets 200 and no error log', async () => {
    const ledger = ledgerClient(server.url, apiKey);
    const [from, to] = [await ledger.account('from', 'EUR', true), await ledger.account('to')];
    const key = `skip-${randomUUID()}`;
    const mutation = `mutation($s: Boolean = false) { createTransfer(idempotencyKey: "${key}", input: { fromAccountId: "${from}", toAccountId: "${to}", amount: "100", currency: "EUR" }) { id amount @skip(if: $s) } }`;
    const errorLinesBefore = server.logger.lines.filter((line) => line.level === 'error').length;
    const first = await post(server.url, { query: mutation }, { 'api-key': apiKey });
    const replays = await Promise.all([1, 2].map(() => post(server.url, { query: mutation }, { 'api-key': apiKey })));
    const id = (first.json.data as { createTransfer: { id: string } } | undefined)?.createTransfer.id;
    expect([first.status, first.json.data, first.json.errors]).toEqual([200, { createTransfer: { id: expect.any(String), amount: '100' } }, undefined]);
    expect(replays.map((replay) => [replay.status, replay.json.data])).toEqual([1, 2].map(() => [200, { createTransfer: { id, amount: '100' } }]));
    const balance = await gql(server.url, `{ account(id: "${to}") { balance } }`, {}, { 'api-key': apiKey });
    expect(balance.body.data).toEqual({ account: { balance: '100' } });

    const read = await post(server.url, { query: 'query($i: Boolean = true) { viewer { tenant { id @include(if: $i) } } }' }, { 'api-key': readKey });
    expect([read.status, read.json.data, read.json.errors]).toEqual([200, { viewer: { tenant: { id: tenantId } } }, undefined]);
    expect((read.json.extensions?.cost as { actualQueryCost: unknown } | undefined)?.actualQueryCost).toBe(2);
    expect(server.logger.lines.filter((line) => line.level === 'error').length).toBe(errorLinesBefore);
  });

  it('3. a tenant holds at most 100 api keys, so apiKeys priced at 100 is an upper bound; the refusal is recorded under its key', async () => {
    const tenant = await server.newTenant('many keys');
    for (let i = 1; i < 100; i += 1) await server.auth.createApiKey(tenant.tenantId, { name: `k${i}`, scopes: ['read'] });
    const headers = { 'api-key': tenant.apiKey };
    const key = randomUUID();
    const mint = `mutation { createApiKey(idempotencyKey: "${key}", input: { name: "one more", scopes: [READ] }) { apiKey { id } } }`;
    const [refused, normal] = await Promise.all([gql(server.url, mint, {}, headers), gql(server.url, NORMAL, {}, headers)]);
    const replay = await gql(server.url, mint, {}, headers);
    expect([refused.status, codes(refused), refused.body.errors?.[0]?.message]).toEqual([400, ['BAD_USER_INPUT'], expect.stringContaining('at most 100 api keys')]);
    expect([replay.status, codes(replay), replay.headers.get('idempotent-replayed')]).toEqual([400, ['BAD_USER_INPUT'], 'true']);
    expect([normal.status, normal.body.data]).toEqual([200, { viewer: { tenant: { id: tenant.tenantId } } }]);
    const listed = await gql(server.url, '{ apiKeys { id } }', {}, headers);
    const cost = listed.body.extensions?.cost as { requestedQueryCost: number; actualQueryCost: number };
    expect([(listed.body.data?.apiKeys as unknown[]).length, cost.requestedQueryCost, cost.actualQueryCost]).toEqual([100, 100, 100]);
  });

  it('5. a transfer without its required key refuses the whole operation before execution: nothing written; a keyed header transfer is served', async () => {
    const ledger = ledgerClient(server.url, apiKey);
    const [from, to] = [await ledger.account('from', 'EUR', true), await ledger.account('to')];
    const input = `input: { fromAccountId: "${from}", toAccountId: "${to}", amount: "100", currency: "EUR" }`;
    const key = `k-${randomUUID()}`;
    const headers = { 'api-key': apiKey };
    const [twoFields, normal] = await Promise.all([
      gql(server.url, `mutation { a: createTransfer(idempotencyKey: "${key}", ${input}) { id } b: createTransfer(${input}) { id } }`, {}, headers),
      gql(server.url, `mutation { createTransfer(${input}) { id amount } }`, {}, { ...headers, 'idempotency-key': randomUUID() }),
    ]);
    // The header covers a single mutation field only: with two, nothing runs either.
    const headerTwo = await gql(server.url, `mutation { a: createTransfer(${input}) { id } b: createTransfer(${input}) { id } }`, {}, { ...headers, 'idempotency-key': randomUUID() });
    const viaFragment = await gql(server.url, `mutation { ...T } fragment T on Mutation { createTransfer(${input}) { id } }`, {}, headers);
    expect([twoFields.status, codes(twoFields), twoFields.body.data]).toEqual([400, ['IDEMPOTENCY_KEY_REQUIRED'], undefined]);
    expect([headerTwo.status, codes(headerTwo), headerTwo.body.data]).toEqual([400, [expect.stringMatching(/^IDEMPOTENCY_KEY_/)], undefined]);
    expect([viaFragment.status, codes(viaFragment)]).toEqual([400, ['IDEMPOTENCY_KEY_REQUIRED']]);
    expect([normal.status, normal.body.data]).toEqual([200, { createTransfer: { id: expect.any(String), amount: '100' } }]);
    // Only the keyed header transfer moved money; key "a" holds no record.
    const after = await gql(server.url, `{ account(id: "${to}") { balance transfers { edges { node { id } } } } idempotencyRecord(key: "${key}") { status } }`, {}, headers);
    expect(after.body.data).toEqual({ account: { balance: '100', transfers: { edges: [{ node: { id: (normal.body.data as { createTransfer: { id: string } }).createTransfer.id } }] } }, idempotencyRecord: null });
  });
});
