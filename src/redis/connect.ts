import type { Logger } from '../observability/logger';
import type { RedisClient } from './client';
import { createRedisClient, isOutcomeUnknown, isRedisUnavailable, waitForRedis, WriteOutcomeUnknownError } from './client';
import type { AppendFsync, ManagedRedis, StartManagedRedisOptions } from './managed';
import { startManagedRedis } from './managed';

/** Where Redis is and how to talk to it: the settings of `Config` that `openRedis` reads. */
export interface RedisSettings {
  /** External Redis; undefined (with no sentinels) runs the embedded redis-server under `dataDir`. */
  readonly redisUrl: string | undefined;
  /** When true, `redisUrl` is a comma-separated list of cluster seed nodes. */
  readonly redisCluster: boolean;
  readonly redisCommandTimeoutMs: number;
  readonly redisSentinels: readonly { readonly host: string; readonly port: number }[];
  readonly redisSentinelName: string;
  readonly redisWaitReplicas: number;
  readonly redisWaitTimeoutMs: number;
  readonly redisAppendfsync: AppendFsync;
  /** Where the embedded redis-server keeps its files. */
  readonly dataDir: string;
}

/**
 * How a Redis call failed, for metrics: `outcome_unknown` when it was sent and its reply never came,
 * `unavailable` when Redis could not be reached, `error` for an error reply.
 */
export function redisFailureKind(error: unknown): 'outcome_unknown' | 'unavailable' | 'error' {
  if (error instanceof WriteOutcomeUnknownError || isOutcomeUnknown(error)) return 'outcome_unknown';
  return isRedisUnavailable(error) ? 'unavailable' : 'error';
}

export interface RedisConnection {
  readonly client: RedisClient;
  /** Set when Redis is the embedded one. */
  readonly managed: ManagedRedis | undefined;
  /** Closes the client, then stops the embedded redis-server if this process started it. */
  close(): Promise<void>;
}

/**
 * Connects to REDIS_URL or through REDIS_SENTINELS, or starts the embedded redis-server when there
 * is neither. An external Redis that is down is not fatal: the client keeps reconnecting (and, with
 * Sentinel, follows a failover to the new primary) and requests get 503 meanwhile.
 */
export async function openRedis(config: RedisSettings, logger: Logger, options: StartManagedRedisOptions = {}): Promise<RedisConnection> {
  const external = config.redisUrl !== undefined || config.redisSentinels.length > 0;
  const managed = external ? undefined : await startManagedRedis(config.dataDir, logger, { appendfsync: config.redisAppendfsync, ...options });
  const client = createRedisClient({
    url: managed?.url ?? config.redisUrl,
    cluster: managed === undefined && config.redisCluster,
    sentinels: config.redisSentinels,
    sentinelName: config.redisSentinelName,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    waitReplicas: config.redisWaitReplicas,
    waitTimeoutMs: config.redisWaitTimeoutMs,
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
        // disconnected below either way
      }
      // Also after a QUIT: a Sentinel client's failover detector keeps its own connections to the
      // sentinels open (and the process alive) until the client is disconnected.
      client.disconnect();
      await managed?.stop();
    },
  };
}
