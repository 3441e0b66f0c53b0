import type { RedisClient } from '../../src/redis/client';
import { createRedisClient, waitForRedis } from '../../src/redis/client';

// Kept apart from ./server so that a test of another schema (examples/) can use the test Redis
// without loading onceql's type-graphql resolvers (their metadata is global to the process).

/** The throwaway redis-server the jest global setup started. */
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
