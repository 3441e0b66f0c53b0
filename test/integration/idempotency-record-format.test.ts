import { randomUUID } from 'node:crypto';
import { IdempotencyRecordDocument } from '../generated/graphql';
import { encodeResult, fingerprint, idempotencyRecordKey, LeasedIdempotency, legacyIdempotencyRecordKey } from '@onceql/idempotency';
import { LedgerStore } from '../../src/ledger/store';
import { tenantKeys } from '../../src/redis/keys';
import { ledgerClient } from '../helpers/ledger';
import { commandNames, watchTenantCommands } from '../helpers/monitor';
import { codes, gql, startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';

// Issue 11, compact storage: records are one packed value (v3, see @onceql/idempotency
// lua/atomic.lua), and records written in the formats before it (v2, a packed value that repeats
// the resource id and time; v1, a hash) still replay, as they did.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

const TRANSFER = `mutation($in: CreateTransferInput!, $k: String) {
  createTransfer(input: $in, idempotencyKey: $k) { id amount reference fromAccount { id balance } toAccount { id balance } }
}`;
const TRANSFER_WITH_TIME = `mutation($in: CreateTransferInput!, $k: String) {
  createTransfer(input: $in, idempotencyKey: $k) { id amount currency reference createdAt fromAccount { id balance } toAccount { id balance } }
}`;

async function newLedger() {
  const tenant = await server.newTenant();
  const client = ledgerClient(server.url, tenant.apiKey);
  const funding = await client.account('Funding', 'EUR', true);
  const alice = await client.account('Alice');
  return { ...tenant, client, funding, alice, ledger: new LedgerStore(server.redis, tenant.tenantId) };
}

describe('idempotency records', () => {
  it('a v1 record (a hash, as written before v2) replays its outcome, with 2 round trips, and is looked up', async () => {
    const { tenantId, apiKey, client, funding, alice, ledger } = await newLedger();
    // The transfer that the first request made, and its record as the version before v2 wrote it.
    const { transfer } = await ledger.createTransfer({ fromAccountId: funding, toAccountId: alice, amount: 250n, currency: 'EUR', reference: 'rent' });
    const key = randomUUID();
    const input = { fromAccountId: funding, toAccountId: alice, amount: '250', currency: 'EUR', reference: 'rent' };
    const createdAt = transfer.createdAt.getTime();
    const recordKey = legacyIdempotencyRecordKey(ledger.namespace, key);
    await server.redis.hset(recordKey, {
      key,
      fingerprint: fingerprint('createTransfer', { input: { ...input, amount: 250n } }),
      mutation: 'createTransfer',
      status: 'COMPLETED',
      createdAt,
      completedAt: createdAt,
      expiresAt: createdAt + 86_400_000,
      outcome: 'SUCCEEDED',
      errorCode: '',
      resourceId: transfer.id,
      replayCount: 0,
      reply: JSON.stringify([1, transfer.id, createdAt, transfer.seq, funding, alice, '250', 'EUR', '1', 'rent']),
    });
    await server.redis.pexpire(recordKey, 86_400_000);

    const watch = await watchTenantCommands(tenantId);
    const replay = await gql(server.url, TRANSFER, { in: input, k: key }, client.headers);
    const commands = commandNames(await watch.take());
    watch.stop();
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.data).toEqual({
      createTransfer: { id: transfer.id, amount: '250', reference: 'rent', fromAccount: { id: funding, balance: '-250' }, toAccount: { id: alice, balance: '250' } },
    });
    expect(commands).toEqual(['evalsha', 'evalsha']);

    // The same key with other arguments is still refused, and nothing moved twice.
    const reused = await gql(server.url, TRANSFER, { in: { ...input, amount: '251' }, k: key }, client.headers);
    expect(codes(reused)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    const record = await gql(server.url, IdempotencyRecordDocument, { key }, { 'api-key': apiKey });
    expect(record.body.data?.idempotencyRecord).toMatchObject({ status: 'COMPLETED', outcome: 'SUCCEEDED', resourceId: transfer.id, replayCount: 1, mutation: 'createTransfer' });
    expect(await server.redis.type(recordKey)).toBe('hash');
  });

  it('a v2 record (written before v3) replays its outcome, stays v2, and is looked up', async () => {
    const { apiKey, client, funding, alice, ledger } = await newLedger();
    const { transfer } = await ledger.createTransfer({ fromAccountId: funding, toAccountId: alice, amount: 90n, currency: 'EUR', reference: null });
    const key = randomUUID();
    const input = { fromAccountId: funding, toAccountId: alice, amount: '90', currency: 'EUR', reference: null };
    const createdAt = transfer.createdAt.getTime();
    // The record as v2 wrote it: "2", the fingerprint's length and first 16 bytes, 5 header
    // fields, then cmsgpack of the whole domain reply (id and time included), packed by Redis' own cmsgpack.
    const digest = Buffer.from(fingerprint('createTransfer', { input: { ...input, amount: 90n } }), 'hex').subarray(0, 16);
    const reply = [1, transfer.id, createdAt, transfer.seq, funding, alice, '90', 'EUR', '0', ''];
    const packedReply = (await server.redis.callBuffer('EVAL', 'return cmsgpack.pack(cjson.decode(ARGV[1]))', '0', JSON.stringify(reply))) as Buffer;
    const v2 = Buffer.concat([Buffer.from([0x32, 16]), digest, Buffer.from(`createTransfer\n${createdAt}\n\n${transfer.id}\n0\n`), packedReply]);
    const recordKey = idempotencyRecordKey(ledger.namespace, key);
    await server.redis.set(recordKey, v2, 'PXAT', createdAt + 86_400_000);

    const replay = await gql(server.url, TRANSFER_WITH_TIME, { in: input, k: key }, client.headers);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.data).toEqual({
      createTransfer: { id: transfer.id, amount: '90', currency: 'EUR', reference: null, createdAt: transfer.createdAt.toISOString(), fromAccount: { id: funding, balance: '-90' }, toAccount: { id: alice, balance: '90' } },
    });
    const stored = (await server.redis.getBuffer(recordKey)) as Buffer;
    expect(stored.subarray(0, 1).toString()).toBe('2');
    expect(stored.subarray(stored.length - packedReply.length).equals(packedReply)).toBe(true);
    const reused = await gql(server.url, TRANSFER, { in: { ...input, amount: '91' }, k: key }, client.headers);
    expect(codes(reused)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    const record = await gql(server.url, IdempotencyRecordDocument, { key }, { 'api-key': apiKey });
    expect(record.body.data?.idempotencyRecord).toMatchObject({ key, status: 'COMPLETED', outcome: 'SUCCEEDED', resourceId: transfer.id, replayCount: 1, mutation: 'createTransfer', createdAt: transfer.createdAt.toISOString() });

    // A new key is written in v3, which keeps the id and time once.
    const fresh = randomUUID();
    expect((await gql(server.url, TRANSFER, { in: input, k: fresh }, client.headers)).status).toBe(200);
    const v3 = (await server.redis.getBuffer(idempotencyRecordKey(ledger.namespace, fresh))) as Buffer;
    expect(v3.subarray(0, 1).toString()).toBe('3');
    expect(v3.length).toBeLessThan(v2.length - 20);
  });

  it('a v3 record is one short string (the id and time once), replays (refusals included) and is looked up like v1', async () => {
    const { apiKey, client, funding, alice, ledger } = await newLedger();
    const key = randomUUID();
    const input = { fromAccountId: funding, toAccountId: alice, amount: '40', currency: 'EUR', reference: null };
    const first = await gql(server.url, TRANSFER_WITH_TIME, { in: input, k: key }, client.headers);
    expect(first.status).toBe(200);
    const recordKey = idempotencyRecordKey(ledger.namespace, key);
    expect(await server.redis.type(recordKey)).toBe('string');
    // "3", the fingerprint's length and 16 raw bytes, 5 short fields, 2 bytes, the packed
    // transfer without its id and time: at most 124 bytes, so jemalloc gives it 128, not 160.
    const packed = (await server.redis.getBuffer(recordKey)) as Buffer;
    expect(packed.subarray(0, 1).toString()).toBe('3');
    expect(packed.length).toBeLessThanOrEqual(124);
    const again = await gql(server.url, TRANSFER_WITH_TIME, { in: input, k: key }, client.headers);
    expect(again.body.data).toEqual({ createTransfer: { ...(first.body.data as { createTransfer: object }).createTransfer, fromAccount: { id: funding, balance: '-40' }, toAccount: { id: alice, balance: '40' } } });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const record = await gql(server.url, IdempotencyRecordDocument, { key }, { 'api-key': apiKey });
    const view = record.body.data?.idempotencyRecord;
    expect(view).toMatchObject({ key, status: 'COMPLETED', outcome: 'SUCCEEDED', errorCode: null, replayCount: 1, mutation: 'createTransfer' });
    expect(Date.parse(view?.expiresAt ?? '') - Date.parse(view?.createdAt ?? '')).toBe(86_400_000);

    // A refusal is recorded in v2 too, and replayed with its code.
    const refusedKey = randomUUID();
    const refused = await gql(server.url, TRANSFER, { in: { ...input, fromAccountId: alice, toAccountId: funding, amount: '1000' }, k: refusedKey }, client.headers);
    expect(codes(refused)).toEqual(['INSUFFICIENT_FUNDS']);
    await client.transfer(funding, alice, '5000');
    const refusedAgain = await gql(server.url, TRANSFER, { in: { ...input, fromAccountId: alice, toAccountId: funding, amount: '1000' }, k: refusedKey }, client.headers);
    expect(codes(refusedAgain)).toEqual(['INSUFFICIENT_FUNDS']);
    const refusedRecord = await gql(server.url, IdempotencyRecordDocument, { key: refusedKey }, { 'api-key': apiKey });
    expect(refusedRecord.body.data?.idempotencyRecord).toMatchObject({ outcome: 'FAILED', errorCode: 'INSUFFICIENT_FUNDS', replayCount: 1 });
  });

  it('transfer rows are short (format 2), and rows written before it are read as they were', async () => {
    const { tenantId, client, funding, alice } = await newLedger();
    const keys = tenantKeys(tenantId);
    const fresh = await client.transfer(funding, alice, '70', 'EUR', 'lunch');
    const freshId = fresh.body.data?.createTransfer?.id ?? '';
    expect(Object.keys(await server.redis.hgetall(keys.transfer(freshId))).sort()).toEqual(['a', 'c', 'f', 'r', 's', 't', 'ts']);

    const oldId = 'oldformatrow0000';
    await server.redis.hset(keys.transfer(oldId), { id: oldId, from: funding, to: alice, amount: '15', currency: 'EUR', createdAt: 1_700_000_000_000, seq: 999_999, reference: 'old' });
    const read = await gql(
      server.url,
      `query($a: ID!, $b: ID!) { a: transfer(id: $a) { id amount currency reference createdAt fromAccount { id } toAccount { id } } b: transfer(id: $b) { id amount reference } }`,
      { a: oldId, b: freshId },
      client.headers,
    );
    expect(read.body.data).toEqual({
      a: { id: oldId, amount: '15', currency: 'EUR', reference: 'old', createdAt: new Date(1_700_000_000_000).toISOString(), fromAccount: { id: funding }, toAccount: { id: alice } },
      b: { id: freshId, amount: '70', reference: 'lunch' },
    });
  });

  it('a leased-path record kept under the name before the compact one replays instead of running again', async () => {
    const namespace = `lp:{p:${randomUUID()}}`;
    const key = randomUUID();
    const call = { namespace, key, fingerprint: fingerprint('pay', { amount: 5 }), mutation: 'pay' };
    const createdAt = Date.now();
    await server.redis.hset(legacyIdempotencyRecordKey(namespace, key), {
      key,
      fingerprint: call.fingerprint,
      mutation: 'pay',
      status: 'COMPLETED',
      createdAt,
      completedAt: createdAt,
      expiresAt: createdAt + 60_000,
      outcome: 'SUCCEEDED',
      result: encodeResult({ chargeId: 'ch_1' }),
      errorCode: '',
      resourceId: 'ch_1',
      replayCount: 0,
      token: 1,
    });
    await server.redis.pexpire(legacyIdempotencyRecordKey(namespace, key), 60_000);
    const leased = new LeasedIdempotency({ redis: server.redis, ttlSeconds: 60, leaseMs: 1_000, waitMs: 0 });
    let runs = 0;
    const outcome = await leased.execute(call, async () => {
      runs += 1;
      return { chargeId: 'ch_2' };
    });
    expect(runs).toBe(0);
    expect(outcome).toEqual({ status: 'REPLAYED', value: { chargeId: 'ch_1' } });
    // Moved to the compact name on the way, where the next retry finds it directly.
    expect(await server.redis.exists(legacyIdempotencyRecordKey(namespace, key))).toBe(0);
    expect(await server.redis.hget(idempotencyRecordKey(namespace, key), 'replayCount')).toBe('1');
  });
});
