import { randomUUID } from 'node:crypto';
import { AccountDocument, CreateAccountDocument, CreateTransferDocument, IdempotencyRecordDocument, TransfersWithAccountNamesDocument } from '../generated/graphql';
import { ledgerClient } from '../helpers/ledger';
import { startRedisProxy } from '../helpers/redis-proxy';
import { commandNames, watchTenantCommands } from '../helpers/monitor';
import { codes, gql, startTestServer, testRedisUrl } from '../helpers/server';
import type { TestServer } from '../helpers/server';

let server: TestServer;
let second: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  second = await startTestServer();
});
afterAll(async () => {
  await server.stop();
  await second.stop();
});

async function newLedger(on: TestServer = server) {
  const tenant = await on.newTenant();
  const client = ledgerClient(on.url, tenant.apiKey);
  const funding = await client.account('Funding', 'EUR', true);
  const alice = await client.account('Alice');
  const bob = await client.account('Bob');
  return { ...tenant, client, funding, alice, bob };
}

async function balance(url: string, apiKey: string, id: string): Promise<string | undefined> {
  return (await gql(url, AccountDocument, { id }, { 'api-key': apiKey })).body.data?.account?.balance;
}

async function transferCount(url: string, apiKey: string, accountId?: string): Promise<number> {
  const response = await gql(url, TransfersWithAccountNamesDocument, { accountId: accountId ?? null, first: 100 }, { 'api-key': apiKey });
  return response.body.data?.transfers.edges.length ?? -1;
}

function statusOf(response: { body: { extensions?: Record<string, unknown> } }): unknown {
  const entries = response.body.extensions?.idempotency as { status: string }[] | undefined;
  return entries?.[0]?.status;
}

describe('exactly once on the atomic path', () => {
  it('50 concurrent identical createTransfer calls over two instances apply once; all answer with that transfer', async () => {
    const { client, apiKey, funding, alice } = await newLedger();
    const key = randomUUID();
    const input = { fromAccountId: funding, toAccountId: alice, amount: '700', currency: 'EUR', reference: 'once' };
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => gql(i % 2 === 0 ? server.url : second.url, CreateTransferDocument, { input, idempotencyKey: key }, client.headers)),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(50).fill(200));
    const ids = new Set(responses.map((response) => response.body.data?.createTransfer?.id));
    expect(ids.size).toBe(1);
    const statuses = responses.map(statusOf);
    expect(statuses.filter((status) => status === 'EXECUTED')).toHaveLength(1);
    expect(statuses.filter((status) => status === 'REPLAYED')).toHaveLength(49);
    const replayed = responses.filter((response) => statusOf(response) === 'REPLAYED');
    expect(replayed.every((response) => response.headers.get('idempotent-replayed') === 'true')).toBe(true);
    expect(responses.find((response) => statusOf(response) === 'EXECUTED')?.headers.get('idempotent-replayed')).toBeNull();
    expect(await transferCount(server.url, apiKey)).toBe(1);
    expect(await balance(server.url, apiKey, alice)).toBe('700');
    expect(await balance(server.url, apiKey, funding)).toBe('-700');
    const record = await gql(server.url, IdempotencyRecordDocument, { key }, client.headers);
    expect(record.body.data?.idempotencyRecord?.replayCount).toBe(49);
  });

  it('refuses the same key with another amount, or on createAccount, with 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const { client, apiKey, funding, alice } = await newLedger();
    const key = randomUUID();
    expect((await client.transfer(funding, alice, '100', 'EUR', null, key)).status).toBe(200);
    const otherAmount = await client.transfer(funding, alice, '101', 'EUR', null, key);
    expect([otherAmount.status, codes(otherAmount)]).toEqual([422, ['IDEMPOTENCY_KEY_REUSED']]);
    const otherMutation = await gql(server.url, CreateAccountDocument, { input: { name: 'Carol', currency: 'EUR' }, idempotencyKey: key }, client.headers);
    expect([otherMutation.status, codes(otherMutation)]).toEqual([422, ['IDEMPOTENCY_KEY_REUSED']]);
    expect(await transferCount(server.url, apiKey)).toBe(1);
    expect(await balance(server.url, apiKey, alice)).toBe('100');
    const accounts = await gql(server.url, 'query { accounts(first: 100) { edges { node { name } } } }', {}, client.headers);
    expect(JSON.stringify(accounts.body.data)).not.toContain('Carol');
  });

  it('replays INSUFFICIENT_FUNDS even after the account was funded', async () => {
    const { client, apiKey, funding, alice, bob } = await newLedger();
    const key = randomUUID();
    const first = await client.transfer(alice, bob, '50', 'EUR', null, key);
    expect([first.status, codes(first), statusOf(first)]).toEqual([422, ['INSUFFICIENT_FUNDS'], 'EXECUTED']);
    await client.transfer(funding, alice, '500');
    const retry = await client.transfer(alice, bob, '50', 'EUR', null, key);
    expect([retry.status, codes(retry), statusOf(retry)]).toEqual([422, ['INSUFFICIENT_FUNDS'], 'REPLAYED']);
    expect(retry.body.errors?.[0]?.message).toBe(first.body.errors?.[0]?.message);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await balance(server.url, apiKey, bob)).toBe('0');
    const fresh = await client.transfer(alice, bob, '50');
    expect(fresh.status).toBe(200);
  });

  it('replays a createAccount with the values it was created with', async () => {
    const { client } = await newLedger();
    const key = randomUUID();
    const input = { name: 'Savings', currency: 'EUR', allowNegativeBalance: false };
    const first = await gql(server.url, CreateAccountDocument, { input, idempotencyKey: key }, client.headers);
    const retry = await gql(second.url, CreateAccountDocument, { input, idempotencyKey: key }, client.headers);
    expect(retry.body.data?.createAccount).toEqual(first.body.data?.createAccount);
    expect(statusOf(retry)).toBe('REPLAYED');
  });

  it('keeps the keys of two tenants apart', async () => {
    const a = await newLedger();
    const b = await newLedger();
    const key = 'shared-key-1';
    const ra = await a.client.transfer(a.funding, a.alice, '10', 'EUR', null, key);
    const rb = await b.client.transfer(b.funding, b.alice, '20', 'EUR', null, key);
    expect([statusOf(ra), statusOf(rb)]).toEqual(['EXECUTED', 'EXECUTED']);
    const recordA = await gql(server.url, IdempotencyRecordDocument, { key }, a.client.headers);
    const recordB = await gql(server.url, IdempotencyRecordDocument, { key }, b.client.headers);
    expect(recordA.body.data?.idempotencyRecord?.resourceId).toBe(ra.body.data?.createTransfer?.id);
    expect(recordB.body.data?.idempotencyRecord?.resourceId).toBe(rb.body.data?.createTransfer?.id);
    const none = await gql(server.url, IdempotencyRecordDocument, { key: 'never-used' }, a.client.headers);
    expect(none.body.data).toEqual({ idempotencyRecord: null });
  });

  it('reports what happened in idempotencyRecord', async () => {
    const { client, funding, alice, bob } = await newLedger();
    const ok = randomUUID();
    const created = await client.transfer(funding, alice, '10', 'EUR', null, ok);
    await client.transfer(funding, alice, '10', 'EUR', null, ok);
    await client.transfer(funding, alice, '10', 'EUR', null, ok);
    const record = (await gql(server.url, IdempotencyRecordDocument, { key: ok }, client.headers)).body.data?.idempotencyRecord;
    expect(record).toMatchObject({ key: ok, status: 'COMPLETED', mutation: 'createTransfer', outcome: 'SUCCEEDED', errorCode: null, resourceId: created.body.data?.createTransfer?.id, replayCount: 2 });
    const createdAt = Date.parse(record?.createdAt ?? '');
    expect(Date.parse(record?.completedAt ?? '')).toBe(createdAt);
    expect(Date.parse(record?.expiresAt ?? '') - createdAt).toBe(86_400_000);

    const failed = randomUUID();
    await client.transfer(alice, bob, '1000', 'EUR', null, failed);
    const failure = (await gql(server.url, IdempotencyRecordDocument, { key: failed }, client.headers)).body.data?.idempotencyRecord;
    expect(failure).toMatchObject({ status: 'COMPLETED', outcome: 'FAILED', errorCode: 'INSUFFICIENT_FUNDS', resourceId: null, replayCount: 0 });
  });
});

describe('keys: where they come from and what they may be', () => {
  it('takes the Idempotency-Key header on a single-field mutation', async () => {
    const { client, apiKey, funding, alice } = await newLedger();
    const key = randomUUID();
    const send = () =>
      gql(server.url, CreateTransferDocument, { input: { fromAccountId: funding, toAccountId: alice, amount: '5', currency: 'EUR' } }, { ...client.headers, 'idempotency-key': key });
    const first = await send();
    const retry = await send();
    expect([statusOf(first), statusOf(retry)]).toEqual(['EXECUTED', 'REPLAYED']);
    expect(retry.body.data?.createTransfer?.id).toBe(first.body.data?.createTransfer?.id);
    expect(first.body.extensions?.idempotency).toEqual([{ path: ['createTransfer'], key, status: 'EXECUTED' }]);
    expect(await transferCount(server.url, apiKey)).toBe(1);
  });

  it('lists aliased fields by their response path', async () => {
    const { client, funding, alice } = await newLedger();
    const response = await gql(
      server.url,
      `mutation { a: createTransfer(input: {fromAccountId: "${funding}", toAccountId: "${alice}", amount: "1", currency: "EUR"}, idempotencyKey: "k-a") { id }
                  b: createTransfer(input: {fromAccountId: "${funding}", toAccountId: "${alice}", amount: "2", currency: "EUR"}, idempotencyKey: "k-b") { id } }`,
      {},
      client.headers,
    );
    expect(response.body.extensions?.idempotency).toEqual([
      { path: ['a'], key: 'k-a', status: 'EXECUTED' },
      { path: ['b'], key: 'k-b', status: 'EXECUTED' },
    ]);
  });

  it('400 for header and argument that differ, a header on two mutation fields, bad keys, and a missing key', async () => {
    const { client, funding, alice } = await newLedger();
    const input = { fromAccountId: funding, toAccountId: alice, amount: '5', currency: 'EUR' };
    const differ = await gql(server.url, CreateTransferDocument, { input, idempotencyKey: 'arg' }, { ...client.headers, 'idempotency-key': 'header' });
    expect([differ.status, codes(differ)]).toEqual([400, ['IDEMPOTENCY_KEY_INVALID']]);
    const same = await gql(server.url, CreateTransferDocument, { input, idempotencyKey: 'same-key' }, { ...client.headers, 'idempotency-key': 'same-key' });
    expect(same.status).toBe(200);

    const twoFields = await gql(
      server.url,
      `mutation { a: createAccount(input: {name: "A", currency: "EUR"}) { id } b: createAccount(input: {name: "B", currency: "EUR"}) { id } }`,
      {},
      { ...client.headers, 'idempotency-key': randomUUID() },
    );
    expect([twoFields.status, codes(twoFields), twoFields.body.data]).toEqual([400, ['IDEMPOTENCY_KEY_INVALID'], undefined]);

    for (const bad of ['k'.repeat(256), 'bad\u0001key', 'with space', '']) {
      const response = await gql(server.url, CreateTransferDocument, { input, idempotencyKey: bad }, client.headers);
      expect([response.status, codes(response)]).toEqual([400, ['IDEMPOTENCY_KEY_INVALID']]);
    }
    const longest = await gql(server.url, CreateTransferDocument, { input, idempotencyKey: '~'.repeat(255) }, client.headers);
    expect(longest.status).toBe(200);
    const badHeader = await gql(server.url, CreateTransferDocument, { input }, { ...client.headers, 'idempotency-key': 'k'.repeat(256) });
    expect([badHeader.status, codes(badHeader)]).toEqual([400, ['IDEMPOTENCY_KEY_INVALID']]);

    const missing = await gql(server.url, CreateTransferDocument, { input }, client.headers);
    expect([missing.status, codes(missing)]).toEqual([400, ['IDEMPOTENCY_KEY_REQUIRED']]);
  });
});

describe('retention', () => {
  it('after IDEMPOTENCY_TTL_SECONDS the key executes anew', async () => {
    const shortLived = await startTestServer({ IDEMPOTENCY_TTL_SECONDS: '1' });
    try {
      const { client, apiKey, funding, alice } = await newLedger(shortLived);
      const key = randomUUID();
      const first = await client.transfer(funding, alice, '3', 'EUR', null, key);
      const replay = await client.transfer(funding, alice, '3', 'EUR', null, key);
      expect([statusOf(first), statusOf(replay)]).toEqual(['EXECUTED', 'REPLAYED']);
      await new Promise((resolve) => setTimeout(resolve, 1200));
      const again = await client.transfer(funding, alice, '3', 'EUR', null, key);
      expect(statusOf(again)).toBe('EXECUTED');
      expect(again.body.data?.createTransfer?.id).not.toBe(first.body.data?.createTransfer?.id);
      expect(await balance(shortLived.url, apiKey, alice)).toBe('6');
    } finally {
      await shortLived.stop();
    }
  });
});

describe('Redis going away in the middle of a mutation', () => {
  // The script was written to the connection either way, so the server cannot know whether it ran:
  // 503 OUTCOME_UNKNOWN (retry with the same key), never SERVICE_UNAVAILABLE ("nothing was written").
  it('before the script reached Redis: 503 OUTCOME_UNKNOWN, nothing recorded, and the retry executes', async () => {
    const proxy = await startRedisProxy(testRedisUrl().replace('unix://', ''));
    const viaProxy = await startTestServer({}, proxy.url);
    try {
      const { client, apiKey, funding, alice } = await newLedger();
      const key = randomUUID();
      const cut = proxy.cutBeforeCommand(/:idem:[0-9a-f]{64}/);
      const failed = await gql(viaProxy.url, CreateTransferDocument, { input: { fromAccountId: funding, toAccountId: alice, amount: '9', currency: 'EUR' }, idempotencyKey: key }, client.headers);
      await cut;
      expect([failed.status, codes(failed)]).toEqual([503, ['OUTCOME_UNKNOWN']]);
      expect((await gql(server.url, IdempotencyRecordDocument, { key }, client.headers)).body.data?.idempotencyRecord).toBeNull();
      expect(await balance(server.url, apiKey, alice)).toBe('0');

      const retry = await (async () => {
        for (let attempt = 0; attempt < 50; attempt++) {
          const response = await gql(viaProxy.url, CreateTransferDocument, { input: { fromAccountId: funding, toAccountId: alice, amount: '9', currency: 'EUR' }, idempotencyKey: key }, client.headers);
          if (response.status !== 503) return response;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        throw new Error('Redis did not come back through the proxy');
      })();
      expect([retry.status, statusOf(retry)]).toEqual([200, 'EXECUTED']);
      expect(await balance(server.url, apiKey, alice)).toBe('9');
    } finally {
      await viaProxy.stop();
      await proxy.close();
    }
  });

  it('after Redis ran it but before the reply: 503 OUTCOME_UNKNOWN, and the retry replays the one transfer', async () => {
    const proxy = await startRedisProxy(testRedisUrl().replace('unix://', ''));
    const viaProxy = await startTestServer({}, proxy.url);
    try {
      const { client, apiKey, funding, alice } = await newLedger();
      const key = randomUUID();
      const input = { fromAccountId: funding, toAccountId: alice, amount: '11', currency: 'EUR' };
      const cut = proxy.cutBeforeReply(/:idem:[0-9a-f]{64}/);
      const lost = await gql(viaProxy.url, CreateTransferDocument, { input, idempotencyKey: key }, client.headers);
      await cut;
      expect([lost.status, codes(lost)]).toEqual([503, ['OUTCOME_UNKNOWN']]);
      const retry = await gql(server.url, CreateTransferDocument, { input, idempotencyKey: key }, client.headers);
      expect([retry.status, statusOf(retry)]).toEqual([200, 'REPLAYED']);
      expect(await transferCount(server.url, apiKey)).toBe(1);
      expect(await balance(server.url, apiKey, alice)).toBe('11');
    } finally {
      await viaProxy.stop();
      await proxy.close();
    }
  });
});

describe('round trips (DESIGN.md budget: 2 for a new createTransfer, 2 for its replay)', () => {
  it('counts the commands Redis receives for each', async () => {
    const { tenantId, client, funding, alice } = await newLedger();
    const watch = await watchTenantCommands(tenantId);
    try {
      const key = randomUUID();
      const query = `mutation($k: String) { createTransfer(input: {fromAccountId: "${funding}", toAccountId: "${alice}", amount: "1", currency: "EUR"}, idempotencyKey: $k) { id amount currency createdAt } }`;
      await watch.take();
      const created = await gql(server.url, query, { k: key }, client.headers);
      const forNew = commandNames(await watch.take());
      const replayed = await gql(server.url, query, { k: key }, client.headers);
      const forReplay = commandNames(await watch.take());
      expect([statusOf(created), statusOf(replayed)]).toEqual(['EXECUTED', 'REPLAYED']);
      // admit (key, allowlist, rate limit, cost: one script) + the mutation's one script
      expect(forNew).toEqual(['evalsha', 'evalsha']);
      expect(forReplay).toEqual(['evalsha', 'evalsha']);
    } finally {
      watch.stop();
    }
  });
});
