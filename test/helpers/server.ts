import 'reflect-metadata';
import { ALL_SCOPES } from '../../src/auth/api-key';
import { AuthStore } from '../../src/auth/store';
import type { Config } from '../../src/config';
import { loadConfig } from '../../src/config';
import type { Logger } from '../../src/observability/logger';
import { createLogger } from '../../src/observability/logger';
import type { RedisClient } from '../../src/redis/client';
import { createRedisClient, waitForRedis } from '../../src/redis/client';
import { createServer } from '../../src/server';
import { testRedisUrl } from './redis';

export { connectTestRedis, testRedisUrl } from './redis';
export { codes, gql } from './http';
export type { GraphQLResponse } from './http';

/** The real JSON logger, writing into memory for assertions. */
export function memoryLogger(): Logger & { lines: { level: string; msg: string; [field: string]: unknown }[] } {
  const lines: { level: string; msg: string; [field: string]: unknown }[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => void lines.push(JSON.parse(line) as { level: string; msg: string }) });
  return Object.assign(logger, { lines });
}

export interface TestServer {
  readonly url: string;
  readonly origin: string;
  /** `GET /metrics` of this server; set when the test passed METRICS_PORT (0 picks a free port). */
  readonly metricsUrl: string | undefined;
  readonly redis: RedisClient;
  readonly logger: ReturnType<typeof memoryLogger>;
  readonly auth: AuthStore;
  /** A new tenant with an all-scope key: every test gets its own data. */
  newTenant(name?: string): Promise<{ tenantId: string; apiKey: string }>;
  stop(): Promise<void>;
}

export async function startTestServer(env: Record<string, string> = {}, redisUrl = testRedisUrl(), devApiKey?: string, host = '127.0.0.1'): Promise<TestServer> {
  // Limits high enough that only the tests about limits meet them; those pass their own.
  const generous = { RATE_LIMIT_PER_SECOND: '1000000', RATE_LIMIT_BURST: '1000000', QUERY_COST_BUDGET: '100000000', QUERY_COST_RESTORE_PER_SECOND: '10000000' };
  // No load shedding on a busy test machine, unless a test asks for it (overload tests).
  const unshed = { SHED_READS_IN_FLIGHT: '1000000', SHED_WRITES_IN_FLIGHT: '1000000', SHED_READS_LAG_MS: '600000', SHED_WRITES_LAG_MS: '600000', TENANT_MAX_IN_FLIGHT: '1000000' };
  const config: Config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...generous, ...unshed, ...env, REDIS_URL: redisUrl });
  const redis = createRedisClient({
    url: redisUrl,
    cluster: config.redisCluster,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    waitReplicas: config.redisWaitReplicas,
    waitTimeoutMs: config.redisWaitTimeoutMs,
  });
  try {
    await waitForRedis(redis, 2_000);
  } catch {
    // a test about Redis being down starts the server anyway
  }
  const logger = memoryLogger();
  const server = createServer(config, { redis, logger, devApiKey });
  const address = await server.listen(0, host);
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  const auth = new AuthStore(redis);
  const metrics = server.metricsAddress();
  return {
    url: `${origin}/graphql`,
    origin,
    metricsUrl: metrics === null ? undefined : `http://${config.observability.metricsHost}:${metrics.port}/metrics`,
    redis,
    logger,
    auth,
    async newTenant(name = 'test') {
      const tenant = await auth.createTenant(name);
      const { secret } = await auth.createApiKey(tenant.id, { name: 'test key', scopes: ALL_SCOPES });
      return { tenantId: tenant.id, apiKey: secret as string };
    },
    async stop() {
      await server.stop();
      redis.disconnect();
    },
  };
}

