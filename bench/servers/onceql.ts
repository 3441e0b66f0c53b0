import 'reflect-metadata';
import { ALL_SCOPES } from '../../src/auth/api-key';
import { AuthStore } from '../../src/auth/store';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/observability/logger';
import { LedgerStore } from '../../src/ledger/store';
import { createRedisClient, waitForRedis } from '../../src/redis/client';
import { createServer } from '../../src/server';
import { accountPool, countCommands, countRequests, ready, redisUrlArgument, serveParent } from '../child';

/**
 * onceql as `npm start` runs it (production settings, logs off), on the bench's Redis, with a
 * tenant whose limits only the 429 scenario meets: an all-scope key, a key limited to 1 request
 * per second, two EUR accounts and 20 transfers between them, and a pool of accounts for
 * measuring storage (transfers spread over many accounts, as a ledger's are).
 */
async function main(): Promise<void> {
  const url = redisUrlArgument();
  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    REDIS_URL: url,
    RATE_LIMIT_PER_SECOND: '1000000',
    // The tenant's rate is never met; the limited key's own rate (1/s) is, after a burst of 1000.
    RATE_LIMIT_BURST: '1000',
    // The bench's load generators share one address; the per-address cap is for the internet.
    HTTP_MAX_CONNECTIONS_PER_IP: '10000',
    // A race of 50 duplicates is 50 requests of one tenant in flight at once, on purpose.
    TENANT_MAX_IN_FLIGHT: '10000',
    // Load shedding stays out of the measurement (and out of CI's quick pass on a busy machine).
    SHED_READS_IN_FLIGHT: '100000',
    SHED_WRITES_IN_FLIGHT: '100000',
    SHED_READS_LAG_MS: '600000',
    SHED_WRITES_LAG_MS: '600000',
    QUERY_COST_BUDGET: '100000000',
    QUERY_COST_RESTORE_PER_SECOND: '10000000',
  });
  const redis = countCommands(createRedisClient({ url, commandTimeoutMs: 5_000 }));
  await waitForRedis(redis, 5_000);
  const auth = new AuthStore(redis);
  const tenant = await auth.createTenant('bench');
  const { secret } = await auth.createApiKey(tenant.id, { name: 'bench', scopes: ALL_SCOPES });
  const limited = await auth.createApiKey(tenant.id, { name: 'limited', scopes: ALL_SCOPES, rateLimitPerSecond: 1 });
  const ledger = new LedgerStore(redis, tenant.id);
  const from = await ledger.createAccount({ name: 'Alice', currency: 'EUR', allowNegativeBalance: true });
  const to = await ledger.createAccount({ name: 'Bob', currency: 'EUR', allowNegativeBalance: false });
  for (let i = 0; i < 20; i++) await ledger.createTransfer({ fromAccountId: from.id, toAccountId: to.id, amount: 1n, currency: 'EUR', reference: null });
  const pool = await accountPool(ledger);

  const server = createServer(config, { redis, logger: createLogger({ level: 'silent' }) });
  countRequests(server.httpServer);
  const address = await server.listen(0, '127.0.0.1');
  serveParent(async () => {
    await server.stop();
    redis.disconnect();
  });
  ready(address.port, { apiKey: secret ?? '', limitedKey: limited.secret ?? '', tenantId: tenant.id, from: from.id, to: to.id, pool: pool.join(',') });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench onceql server: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
