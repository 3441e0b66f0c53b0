import { randomUUID } from 'node:crypto';
import { AccountDocument, CreateApiKeyDocument, IdempotencyRecordDocument, RevokeApiKeyDocument } from '../generated/graphql';
import { ledgerClient } from '../helpers/ledger';
import { commandNames, watchTenantCommands } from '../helpers/monitor';
import { codes, gql, startTestServer } from '../helpers/server';
import type { GraphQLResponse, TestServer } from '../helpers/server';

// Issue 9, items 3 and 4: nested reads after a mutation are live (the script's own reply, or a
// fresh load), and every outcome that depends on stored data is recorded and replayed from what
// was stored, never rebuilt from the retry's input.

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

function statusOf(response: GraphQLResponse<unknown>): unknown {
  return (response.body.extensions?.idempotency as { status: string }[] | undefined)?.map((entry) => entry.status);
}

async function balance(apiKey: string, id: string): Promise<string | undefined> {
  return (await gql(server.url, AccountDocument, { id }, { 'api-key': apiKey })).body.data?.account?.balance;
}

const TRANSFER_WITH_BALANCES = `mutation($in: CreateTransferInput!, $k: String) {
  createTransfer(input: $in, idempotencyKey: $k) { id amount fromAccount { id balance } toAccount { id balance } }
}`;

describe('nested reads after a mutation are live', () => {
  it('two transfers in one operation: each shows the balances right after it', async () => {
    const { client, funding, alice, bob } = await newLedger();
    const response = await gql(
      server.url,
      `mutation($f: ID!, $a: ID!, $b: ID!, $k1: String, $k2: String) {
        first: createTransfer(input: {fromAccountId: $f, toAccountId: $a, amount: "100", currency: "EUR"}, idempotencyKey: $k1) { toAccount { id balance } fromAccount { balance } }
        second: createTransfer(input: {fromAccountId: $a, toAccountId: $b, amount: "30", currency: "EUR"}, idempotencyKey: $k2) { fromAccount { id balance } toAccount { balance } }
      }`,
      { f: funding, a: alice, b: bob, k1: randomUUID(), k2: randomUUID() },
      client.headers,
    );
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({
      first: { toAccount: { id: alice, balance: '100' }, fromAccount: { balance: '-100' } },
      second: { fromAccount: { id: alice, balance: '70' }, toAccount: { balance: '30' } },
    });
  });

  it('an account read before a transfer in the same operation is shown as it is after it', async () => {
    const { client, funding, alice } = await newLedger();
    const response = await gql(
      server.url,
      `mutation($f: ID!, $a: ID!, $k1: String, $k2: String) {
        warm: createTransfer(input: {fromAccountId: $f, toAccountId: $a, amount: "5", currency: "EUR"}, idempotencyKey: $k1) { toAccount { balance } }
        again: createTransfer(input: {fromAccountId: $f, toAccountId: $a, amount: "5", currency: "EUR"}, idempotencyKey: $k2) { toAccount { balance } }
      }`,
      { f: funding, a: alice, k1: randomUUID(), k2: randomUUID() },
      client.headers,
    );
    expect(response.body.data).toEqual({ warm: { toAccount: { balance: '5' } }, again: { toAccount: { balance: '10' } } });
  });

  it('createTransfer with both balances costs 2 round trips (admit + script), new and replayed; the replay shows balances as they are now', async () => {
    const { tenantId, apiKey, client, funding, alice, bob } = await newLedger();
    const watch = await watchTenantCommands(tenantId);
    try {
      const key = randomUUID();
      const input = { fromAccountId: funding, toAccountId: alice, amount: '40', currency: 'EUR' };
      await watch.take();
      const created = await gql(server.url, TRANSFER_WITH_BALANCES, { in: input, k: key }, client.headers);
      const forNew = commandNames(await watch.take());
      expect(created.body.data?.createTransfer).toMatchObject({ amount: '40', fromAccount: { balance: '-40' }, toAccount: { balance: '40' } });

      // Money moves on after the first answer; the replay's nested balances are today's.
      await client.transfer(alice, bob, '15');
      await watch.take();
      const replayed = await gql(server.url, TRANSFER_WITH_BALANCES, { in: input, k: key }, client.headers);
      const forReplay = commandNames(await watch.take());
      expect([statusOf(created), statusOf(replayed)]).toEqual([['EXECUTED'], ['REPLAYED']]);
      expect(replayed.body.data?.createTransfer).toEqual({
        id: (created.body.data?.createTransfer as { id: string }).id,
        amount: '40',
        fromAccount: { id: funding, balance: '-40' },
        toAccount: { id: alice, balance: '25' },
      });
      expect(forNew).toEqual(['evalsha', 'evalsha']);
      expect(forReplay).toEqual(['evalsha', 'evalsha']);
      expect(await balance(apiKey, alice)).toBe('25');
    } finally {
      watch.stop();
    }
  });

  it('a replayed createAccount keeps its own scalars as created, and the accounts nested under it are live', async () => {
    const { client, apiKey, funding } = await newLedger();
    const key = randomUUID();
    const create = `mutation($k: String) {
      createAccount(input: {name: "Dora", currency: "EUR"}, idempotencyKey: $k) {
        id balance transfers(first: 5) { edges { node { amount toAccount { id balance } } } }
      }
    }`;
    const first = await gql(server.url, create, { k: key }, client.headers);
    const dora = (first.body.data?.createAccount as { id: string }).id;
    await client.transfer(funding, dora, '250');
    const replay = await gql(server.url, create, { k: key }, client.headers);
    expect(statusOf(replay)).toEqual(['REPLAYED']);
    // DESIGN.md: a replay's scalars are as they were (created with 0), nested objects are live.
    expect(replay.body.data?.createAccount).toEqual({
      id: dora,
      balance: '0',
      transfers: { edges: [{ node: { amount: '250', toAccount: { id: dora, balance: '250' } } }] },
    });
    expect(await balance(apiKey, dora)).toBe('250');
  });
});

describe('replays read the stored resource', () => {
  it('a replayed createApiKey shows the key as stored now: revoked since, with no secret', async () => {
    const { apiKey } = await newLedger();
    const admin = { 'api-key': apiKey };
    const key = randomUUID();
    const input = { name: 'rotating', scopes: ['READ' as const] };
    const created = await gql(server.url, CreateApiKeyDocument, { input, idempotencyKey: key }, admin);
    const id = created.body.data?.createApiKey?.apiKey.id as string;
    expect(created.body.data?.createApiKey).toMatchObject({ apiKey: { revokedAt: null }, secretOmitted: false });
    const revoked = await gql(server.url, RevokeApiKeyDocument, { id }, admin);
    const revokedAt = revoked.body.data?.revokeApiKey?.revokedAt;
    expect(revokedAt).toEqual(expect.any(String));

    const replay = await gql(server.url, CreateApiKeyDocument, { input, idempotencyKey: key }, admin);
    expect(statusOf(replay)).toEqual(['REPLAYED']);
    expect(replay.body.data?.createApiKey).toMatchObject({
      apiKey: { id, name: 'rotating', scopes: ['READ'], revokedAt, createdAt: created.body.data?.createApiKey?.apiKey.createdAt },
      secret: null,
      secretOmitted: true,
    });
  });
});

describe('a malformed id is recorded NOT_FOUND like any unknown id, and replays', () => {
  const malformed = ['!!', 'x:transfers', 'A'.repeat(65), 'a'.repeat(300), '{t:other}', ''];

  it.each(malformed.map((id) => [JSON.stringify(id.length > 20 ? `${id.slice(0, 8)}…(${id.length})` : id), id]))('createTransfer to %s', async (_shown, bad) => {
    const { client, apiKey, funding, alice, bob } = await newLedger();
    const key = randomUUID();
    const first = await client.transfer(funding, bad, '5', 'EUR', null, key);
    expect([first.status, codes(first)]).toEqual([404, ['NOT_FOUND']]);
    const record = (await gql(server.url, IdempotencyRecordDocument, { key }, client.headers)).body.data?.idempotencyRecord;
    expect(record).toMatchObject({ status: 'COMPLETED', outcome: 'FAILED', errorCode: 'NOT_FOUND', mutation: 'createTransfer' });

    const replay = await client.transfer(funding, bad, '5', 'EUR', null, key);
    expect([replay.status, codes(replay), statusOf(replay)]).toEqual([404, ['NOT_FOUND'], ['REPLAYED']]);
    expect(replay.body.errors?.[0]?.message).toBe(first.body.errors?.[0]?.message);
    // The same key for another transfer does not run it.
    const other = await client.transfer(funding, alice, '5', 'EUR', null, key);
    expect([other.status, codes(other)]).toEqual([422, ['IDEMPOTENCY_KEY_REUSED']]);
    const reversed = await client.transfer(bad, bob, '5', 'EUR', null, randomUUID());
    expect([reversed.status, codes(reversed)]).toEqual([404, ['NOT_FOUND']]);
    expect([await balance(apiKey, funding), await balance(apiKey, alice), await balance(apiKey, bob)]).toEqual(['0', '0', '0']);
  });

  it('revokeApiKey of a malformed id', async () => {
    const { apiKey } = await newLedger();
    const admin = { 'api-key': apiKey };
    const key = randomUUID();
    const first = await gql(server.url, RevokeApiKeyDocument, { id: 'not/an:id', idempotencyKey: key }, admin);
    expect([first.status, codes(first)]).toEqual([404, ['NOT_FOUND']]);
    const replay = await gql(server.url, RevokeApiKeyDocument, { id: 'not/an:id', idempotencyKey: key }, admin);
    expect([replay.status, codes(replay), statusOf(replay)]).toEqual([404, ['NOT_FOUND'], ['REPLAYED']]);
    const viewer = await gql(server.url, '{ viewer { apiKey { id } } }', {}, admin);
    const ownId = (viewer.body.data as { viewer: { apiKey: { id: string } } }).viewer.apiKey.id;
    const reused = await gql(server.url, RevokeApiKeyDocument, { id: ownId, idempotencyKey: key }, admin);
    expect([reused.status, codes(reused)]).toEqual([422, ['IDEMPOTENCY_KEY_REUSED']]);
    expect((await gql(server.url, '{ viewer { apiKey { revokedAt } } }', {}, admin)).status).toBe(200);
  });
});
