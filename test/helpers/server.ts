import 'reflect-metadata';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { ALL_SCOPES } from '../../src/auth/api-key';
import { AuthStore } from '../../src/auth/store';
import type { Config } from '../../src/config';
import { loadConfig } from '../../src/config';
import type { Logger } from '../../src/log';
import { createLogger } from '../../src/log';
import type { RedisClient } from '../../src/redis/client';
import { createRedisClient, waitForRedis } from '../../src/redis/client';
import { createServer } from '../../src/server';

export function testRedisUrl(): string {
  const url = process.env.ONCEQL_TEST_REDIS_URL;
  if (!url) throw new Error('ONCEQL_TEST_REDIS_URL is unset: run the tests through jest (its global setup starts Redis)');
  return url;
}

export async function connectTestRedis(url = testRedisUrl()): Promise<RedisClient> {
  const client = createRedisClient({ url });
  await waitForRedis(client, 5_000);
  return client;
}

/** The real JSON logger, writing into memory for assertions. */
export function memoryLogger(): Logger & { lines: { level: string; msg: string; [field: string]: unknown }[] } {
  const lines: { level: string; msg: string; [field: string]: unknown }[] = [];
  const logger = createLogger('debug', (line) => void lines.push(JSON.parse(line) as { level: string; msg: string }));
  return Object.assign(logger, { lines });
}

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: { data?: T | null; errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[]; extensions?: Record<string, unknown> };
}

export interface TestServer {
  readonly url: string;
  readonly origin: string;
  readonly redis: RedisClient;
  readonly logger: ReturnType<typeof memoryLogger>;
  readonly auth: AuthStore;
  /** A new tenant with an all-scope key: every test gets its own data. */
  newTenant(name?: string): Promise<{ tenantId: string; apiKey: string }>;
  stop(): Promise<void>;
}

export async function startTestServer(env: Record<string, string> = {}, redisUrl = testRedisUrl(), devApiKey?: string, host = '127.0.0.1'): Promise<TestServer> {
  const config: Config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env, REDIS_URL: redisUrl });
  const redis = createRedisClient({ url: redisUrl });
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
  return {
    url: `${origin}/graphql`,
    origin,
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

/** POSTs a GraphQL operation (a typed document or its text). */
export async function gql<TData = Record<string, unknown>, TVars = Record<string, unknown>>(
  url: string,
  document: TypedDocumentNode<TData, TVars> | string,
  variables?: TVars,
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<TData>> {
  const query = typeof document === 'string' ? document : print(document);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  let body: GraphQLResponse<TData>['body'];
  try {
    body = JSON.parse(text) as GraphQLResponse<TData>['body'];
  } catch {
    throw new Error(`non-JSON response ${response.status}: ${text.slice(0, 200)}`);
  }
  return { status: response.status, headers: response.headers, body };
}

/** The error codes of a response, in order. */
export function codes(response: GraphQLResponse<unknown>): unknown[] {
  return (response.body.errors ?? []).map((error) => error.extensions?.code);
}
