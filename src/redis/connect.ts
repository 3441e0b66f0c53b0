import type { Config } from '../config';
import type { Logger } from '../log';
import type { RedisClient } from './client';
import { createRedisClient, waitForRedis } from './client';
import type { ManagedRedis, StartManagedRedisOptions } from './managed';
import { startManagedRedis } from './managed';

export interface RedisConnection {
  readonly client: RedisClient;
  /** Set when Redis is the embedded one. */
  readonly managed: ManagedRedis | undefined;
  /** Closes the client, then stops the embedded redis-server if this process started it. */
  close(): Promise<void>;
}

/**
 * Connects to REDIS_URL, or starts the embedded redis-server when there is none. An external
 * Redis that is down is not fatal: the client keeps reconnecting and requests get 503 meanwhile.
 */
export async function openRedis(config: Config, logger: Logger, options: StartManagedRedisOptions = {}): Promise<RedisConnection> {
  const managed = config.redisUrl === undefined ? await startManagedRedis(config.dataDir, logger, options) : undefined;
  const client = createRedisClient({
    url: managed?.url ?? (config.redisUrl as string),
    cluster: managed === undefined && config.redisCluster,
    commandTimeoutMs: config.redisCommandTimeoutMs,
  });
  try {
    await waitForRedis(client, managed === undefined ? 2_000 : 30_000);
  } catch (error) {
    if (managed !== undefined) {
      client.disconnect();
      await managed.stop();
      throw error;
    }
    logger.warn('Redis is not reachable yet; serving 503 until it is', { error });
  }
  return {
    client,
    managed,
    async close() {
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
      await managed?.stop();
    },
  };
}
