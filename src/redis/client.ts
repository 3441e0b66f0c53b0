import { Cluster, Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { useScriptMiddleware } from '@onceql/redis-script';

/**
 * A single Redis (direct or found through Sentinel) or a Redis Cluster: every tenant key carries a
 * hash tag, so all behave alike.
 */
export type RedisClient = Redis | Cluster;

export interface RedisClientOptions {
  /**
   * redis://, rediss:// or unix:// URL; with `cluster`, a comma-separated list of seed nodes.
   * Unused (may be omitted) with `sentinels`.
   */
  url?: string;
  cluster?: boolean;
  /** Sentinel mode: ask these sentinels for the primary of `sentinelName`, and follow failovers. */
  sentinels?: readonly { host: string; port: number }[];
  /** The master name the sentinels monitor (default `mymaster`). */
  sentinelName?: string;
  /** A command that gets no answer within this time fails (default 2000 ms). */
  commandTimeoutMs?: number;
  /**
   * When above 0 (default 0), every mutation script is followed by `WAIT waitReplicas waitTimeoutMs`
   * on the same connection, and its reply is only returned once that many replicas have it (see
   * {@link withWait}).
   */
  waitReplicas?: number;
  /** How long WAIT may block (default 500 ms); keep it below `commandTimeoutMs`. */
  waitTimeoutMs?: number;
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
  if (options.sentinels !== undefined && options.sentinels.length > 0) {
    client = new Redis({
      ...base,
      sentinels: options.sentinels.map(({ host, port }) => ({ host, port })),
      name: options.sentinelName ?? 'mymaster',
      // Subscribe to +switch-master: drop the old primary's connection as soon as the sentinels
      // announce the new one, instead of waiting for a command to time out on it (after a network
      // split no connection closes by itself).
      failoverDetector: true,
      // A demoted primary answers writes READONLY: reconnect (through the sentinels) to the new
      // one. 1, not 2: the refused command is not re-sent; it fails with 503 and the client retries.
      reconnectOnError: (error: Error) => (error.message.startsWith('READONLY') ? 1 : false),
    });
  } else if (options.url === undefined) {
    throw new TypeError('createRedisClient needs a url, or sentinels');
  } else if (options.cluster === true) {
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
  if ((options.waitReplicas ?? 0) > 0) withWait(client, options.waitReplicas as number, options.waitTimeoutMs ?? 500);
  return client;
}

/**
 * The scripts that acknowledge something to a caller (the mutations, and the tenant with its first
 * key): with WAIT on, each is acknowledged only once the replicas have it. Rate-limit and
 * authentication bookkeeping are not: losing a few of those in a failover is harmless.
 */
export const ACKNOWLEDGED_SCRIPTS: ReadonlySet<string> = new Set(['createTenant', 'createApiKey', 'revokeApiKey', 'createAccount', 'createTransfer']);

/** WAIT fell short (fewer replicas confirmed, or WAIT itself failed): the write may not survive a failover. */
export class ReplicationShortError extends Error {
  override readonly name = 'ReplicationShortError';
  constructor(
    readonly wanted: number,
    readonly confirmed: number | null,
    override readonly cause?: unknown,
  ) {
    super(`WAIT: ${confirmed ?? 'no'} of ${wanted} replicas confirmed the write${cause instanceof Error ? ` (${cause.message})` : ''}`);
  }
}

/** The client is not connected: the write was not sent (503 SERVICE_UNAVAILABLE, not OUTCOME_UNKNOWN). */
export class RedisNotReadyError extends Error {
  override readonly name = 'RedisNotReadyError';
  constructor() {
    super('Redis is not connected; the write was not sent');
  }
}

/**
 * Makes every script of {@link ACKNOWLEDGED_SCRIPTS} run as one pipeline `[EVALSHA, WAIT]`:
 * - Same connection. WAIT counts the replicas that have the connection's last write; sent in one
 *   pipeline, WAIT follows the script on the very connection that ran it. (A WAIT sent later could
 *   go out on a new connection after a reconnect, which has written nothing, and return at once.)
 * - Redis Cluster: a pipeline goes to the one node serving its keys' slot, so WAIT runs on the
 *   primary of the shard that ran the script and counts that shard's replicas. REDIS_WAIT_REPLICAS
 *   must not exceed the replicas of the smallest shard, or every write falls short.
 * - A replay writes too (the record's replayCount), so WAIT after it also covers the record it
 *   replayed, even one another connection wrote.
 * - EVALSHA, then EVAL only if Redis answers NOSCRIPT (nothing ran): ioredis' own fallback would
 *   re-send the script outside the pipeline, after the WAIT.
 * Short of `replicas` confirmations within `timeoutMs`, the call throws {@link ReplicationShortError},
 * which {@link sendWrite} turns into OUTCOME_UNKNOWN: the write is on the primary, but a failover
 * could lose it, so it is not acknowledged; the client's retry with the same key replays it (or,
 * if it was lost, runs it once).
 */
export function withWait(client: RedisClient, replicas: number, timeoutMs: number): void {
  useScriptMiddleware(client, async (script, call, next) => {
    if (!ACKNOWLEDGED_SCRIPTS.has(script.name)) return next();
    // A cluster pipeline waits, without bound, for a client that has not connected yet; a plain
    // command would be refused at once (no offline queue). Refuse the same way: nothing is sent.
    if (client.status !== 'ready') throw new RedisNotReadyError();
    const scriptArgs: [number, ...(string | number | Buffer)[]] = [call.keys.length, ...call.keys, ...call.args];
    for (const useEval of [false, true]) {
      const pipeline = client.pipeline();
      if (useEval) pipeline.eval(script.lua, ...scriptArgs);
      else pipeline.evalsha(script.sha1, ...scriptArgs);
      pipeline.wait(replicas, timeoutMs);
      const results = (await pipeline.exec()) ?? [];
      const [scriptError, reply] = results[0] ?? [new Error('WAIT pipeline: no reply to the script')];
      const [waitError, confirmed] = results[1] ?? [new Error('WAIT pipeline: no reply to WAIT')];
      if (scriptError) {
        if (!useEval && scriptError.message.startsWith('NOSCRIPT')) continue;
        throw scriptError;
      }
      if (waitError) throw new ReplicationShortError(replicas, null, waitError);
      if (Number(confirmed) < replicas) throw new ReplicationShortError(replicas, Number(confirmed));
      return reply;
    }
    throw new Error(`${script.name}: NOSCRIPT after EVAL`);
  });
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
    error.name === 'RedisNotReadyError' ||
    /Stream isn't writeable|Connection is closed|Command timed out|enableOfflineQueue|ClusterAllFailedError|Failed to refresh slots cache|None of startup nodes is available|Too many Cluster redirections|CLUSTERDOWN|TRYAGAIN|LOADING|^MOVED |^ASK |^READONLY |All sentinels are unreachable/.test(
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
 * - {@link ReplicationShortError}: the script ran on the primary, but WAIT did not confirm that
 *   enough replicas have it, so a failover may or may not keep it.
 * Refusals before sending (`Stream isn't writeable`, `ECONNREFUSED`, cluster refusals such as
 * `CLUSTERDOWN` or a `MOVED` to the WAIT pipeline, and `READONLY` from a replica that was a primary
 * a moment ago: Redis answers them without running the command) are not outcome-unknown.
 */
export function isOutcomeUnknown(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return error.name === 'MaxRetriesPerRequestError' || error instanceof ReplicationShortError || error.message === 'Command timed out' || error.message === 'Connection is closed.';
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
