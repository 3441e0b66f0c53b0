import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ApiError } from '../../src/errors';
import { toApiError } from '../../src/graphql/errors';
import { LedgerStore } from '../../src/ledger/store';
import { AccountsDocument } from '../generated/graphql';
import { ledgerClient } from '../helpers/ledger';
import { startRedisProcess } from '../helpers/redis-process';
import type { RedisProcess } from '../helpers/redis-process';
import { codes, gql, startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';

// This suite stops and restarts its own redis-server, so it never disturbs the shared one.
const socketPath = path.join(mkdtempSync(path.join(os.tmpdir(), 'onceql-down-')), 'redis.sock');
let redis: RedisProcess;
let server: TestServer;

beforeAll(async () => {
  redis = await startRedisProcess(socketPath);
  server = await startTestServer({}, redis.url);
});
afterAll(async () => {
  await server.stop();
  await redis.stop();
});

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('Redis unreachable', () => {
  it('answers 503 SERVICE_UNAVAILABLE at once and /readyz 503, then recovers by itself', async () => {
    const { apiKey, tenantId } = await server.newTenant();
    const client = ledgerClient(server.url, apiKey);
    const funding = await client.account('Funding', 'EUR', true);
    const alice = await client.account('Alice');

    await redis.stop();
    const transfer = await client.transfer(funding, alice, '5');
    expect([transfer.status, codes(transfer)]).toEqual([503, ['SERVICE_UNAVAILABLE']]);
    expect((await fetch(`${server.origin}/readyz`)).status).toBe(503);
    expect((await fetch(`${server.origin}/healthz`)).status).toBe(200);
    // Past authentication (a resolver whose script cannot reach Redis) the same mapping applies.
    const failure = await new LedgerStore(server.redis, tenantId)
      .createTransfer({ fromAccountId: funding, toAccountId: alice, amount: 5n, currency: 'EUR', reference: null })
      .catch((error: unknown) => error);
    expect((toApiError(failure) as ApiError).extensions.code).toBe('SERVICE_UNAVAILABLE');

    // The data was in the stopped (non-persistent) redis; a new one starts empty, so the old key
    // is unknown now: what matters is that the server reconnects without a restart.
    redis = await startRedisProcess(socketPath);
    await until(async () => (await fetch(`${server.origin}/readyz`)).status === 200);
    const fresh = await server.newTenant();
    const after = await gql(server.url, AccountsDocument, {}, { 'api-key': fresh.apiKey });
    expect(after.status).toBe(200);
  });
});
