import { Cluster, Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { registerScripts } from './scripts';

/** A single Redis or a Redis Cluster: every tenant key carries a hash tag, so both behave alike. */
export type RedisClient = Redis | Cluster;

export interface RedisClientOptions {
  /** redis://, rediss:// or unix:// URL; with `cluster`, a comma-separated list of seed nodes. */
  url: string;
  cluster?: boolean;
  /** A command that gets no answer within this time fails (default 2000 ms). */
  commandTimeoutMs?: number;
}

/**
 * Options shared by every connection. The offline queue is off and in-flight commands are not
 * re-sent after a reconnect: while Redis is away a request fails at once with 503 instead of
 * hanging, and a write is never sent twice behind the caller's back.
 */
function baseOptions(commandTimeoutMs: number): RedisOptions {
  return {
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 1000),
  };
}

function nodeOptions(raw: string): RedisOptions {
  const url = new URL(raw);
  if (url.protocol === 'unix:') return { path: decodeURIComponent(url.pathname) };
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  return {
    host: url.hostname,
    port: url.port === '' ? 6379 : Number(url.port),
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    db: Number.isInteger(db) ? db : 0,
    tls: url.protocol === 'rediss:' ? {} : undefined,
  };
}

export function createRedisClient(options: RedisClientOptions): RedisClient {
  const base = baseOptions(options.commandTimeoutMs ?? 2000);
  let client: RedisClient;
  if (options.cluster === true) {
    const seeds = options.url.split(',').map((url) => nodeOptions(url.trim()));
    const first = seeds[0] ?? {};
    client = new Cluster(
      seeds.map((seed) => ({ host: seed.host, port: seed.port })),
      {
        enableOfflineQueue: false,
        clusterRetryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 1000),
        redisOptions: { ...base, username: first.username, password: first.password, tls: first.tls },
      },
    );
  } else {
    client = new Redis({ ...base, ...nodeOptions(options.url) });
  }
  // Connection errors are reported by readiness and by failing commands; without a listener
  // ioredis would print every reconnect attempt as an unhandled error event.
  client.on('error', () => undefined);
  registerScripts(client);
  return client;
}

/** Resolves once the client can take commands, or rejects after `timeoutMs`. */
export function waitForRedis(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`Redis was not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}

/** True when Redis answers now; for a cluster, when it also reports `cluster_state:ok`. */
export async function pingRedis(client: RedisClient): Promise<boolean> {
  try {
    if (client instanceof Cluster) return (await client.cluster('INFO')).includes('cluster_state:ok');
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  }
}

/**
 * True for the errors ioredis raises when Redis cannot be reached: refused or lost connections,
 * commands refused while disconnected (offline queue off), and commands that timed out. For a read
 * that is all there is to say (503 SERVICE_UNAVAILABLE); a write goes through {@link sendWrite},
 * which first asks {@link isOutcomeUnknown}.
 */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== undefined && ['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(code)) return true;
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /Stream isn't writeable|Connection is closed|Command timed out|enableOfflineQueue|ClusterAllFailedError|Failed to refresh slots cache|None of startup nodes is available|Too many Cluster redirections|CLUSTERDOWN|TRYAGAIN|LOADING/.test(
      error.message,
    )
  );
}

/**
 * True when a command was written to the connection but its reply never came, so Redis may or may
 * not have run it:
 * - `Command timed out`: `commandTimeout` passed; the command stays queued and Redis runs it when
 *   it gets to it (a stall, `CLIENT PAUSE`, a busy script).
 * - `MaxRetriesPerRequestError`: the connection closed with the command in flight. With the
 *   offline queue off, only commands already written are queued, so every one of them was sent.
 * - `Connection is closed.`: ioredis says this both for commands in flight when the connection
 *   ends and for a command issued after it ended; the two cannot be told apart, so a write that
 *   gets it must not be called "not written".
 * Refusals before sending (`Stream isn't writeable`, `ECONNREFUSED`, cluster refusals such as
 * `CLUSTERDOWN` that Redis answers without running the command) are not outcome-unknown.
 */
export function isOutcomeUnknown(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'MaxRetriesPerRequestError' || error.message === 'Command timed out' || error.message === 'Connection is closed.';
}

/**
 * A write (a mutation script) was sent to Redis and its reply never came: it may have been applied.
 * A domain error; the API answers it 503 `OUTCOME_UNKNOWN`, telling the client to retry with the
 * same idempotency key (the retry replays the outcome if it ran, or runs it once if it did not).
 */
export class WriteOutcomeUnknownError extends Error {
  override readonly name = 'WriteOutcomeUnknownError';
  constructor(
    /** The mutation script that was sent. */
    readonly script: string,
    /** False when the write carried no idempotency key: a retry cannot tell it ran. */
    readonly idempotent: boolean,
    override readonly cause: unknown,
  ) {
    super(`The reply to ${script} never came (${cause instanceof Error ? cause.message : String(cause)}); it may or may not have been applied.`);
  }
}

/**
 * Sends one write and turns "sent, but no reply" into {@link WriteOutcomeUnknownError}; every other
 * error (refused before sending, a script error) passes through unchanged. Use it for mutation
 * scripts only: a read that times out changed nothing and is plainly unavailable.
 */
export async function sendWrite<T>(script: string, idempotent: boolean, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    if (isOutcomeUnknown(error)) throw new WriteOutcomeUnknownError(script, idempotent, error);
    throw error;
  }
}
