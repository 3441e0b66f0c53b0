import path from 'node:path';
import type { TrustProxy } from './auth/ip';
import { parseAllowlist } from './auth/ip';
import type { HttpLimits } from './http/node-server';
import type { LogLevel } from './observability/logger';
import type { ObservabilitySettings } from './observability/observability';
import type { OverloadLimits } from './observability/overload';
import type { AppendFsync } from './redis/managed';

export type { LogLevel };

export interface Config {
  readonly port: number;
  readonly host: string;
  /** External Redis; undefined means "run an embedded redis-server under dataDir". */
  readonly redisUrl: string | undefined;
  /** When true, `redisUrl` is a comma-separated list of cluster seed nodes. */
  readonly redisCluster: boolean;
  /**
   * A Redis command without a reply within this time fails: a read with 503 SERVICE_UNAVAILABLE,
   * a write (sent, outcome unknown) with 503 OUTCOME_UNKNOWN. Default 2000.
   */
  readonly redisCommandTimeoutMs: number;
  /**
   * Sentinel mode (REDIS_SENTINELS, host:port list; empty when unused): the client asks these
   * sentinels for the primary of {@link redisSentinelName} and follows it through a failover.
   */
  readonly redisSentinels: readonly RedisAddress[];
  /** The master name the sentinels monitor (REDIS_SENTINEL_NAME, default `mymaster`). */
  readonly redisSentinelName: string;
  /**
   * REDIS_WAIT_REPLICAS (default 0: no WAIT): a mutation is acknowledged only once this many
   * replicas confirm they have it; short of that within {@link redisWaitTimeoutMs}, 503 OUTCOME_UNKNOWN.
   */
  readonly redisWaitReplicas: number;
  /** REDIS_WAIT_TIMEOUT_MS (default 500): how long WAIT may block; below REDIS_COMMAND_TIMEOUT_MS. */
  readonly redisWaitTimeoutMs: number;
  /** The embedded redis-server's `appendfsync` (REDIS_APPENDFSYNC: everysec (default), always, no). */
  readonly redisAppendfsync: AppendFsync;
  readonly dataDir: string;
  /** How long idempotency records are kept; after that a key is new again. */
  readonly idempotencyTtlSeconds: number;
  /** Leased path: how long a claim is exclusive before a duplicate may take it over. */
  readonly idempotencyLeaseMs: number;
  /** Leased path: how long a duplicate waits for a running execution before 409. */
  readonly idempotencyWaitMs: number;
  /** Requests per second per tenant (or per key with its own rate), sustained. */
  readonly rateLimitPerSecond: number;
  /** Requests allowed on top of the rate at once. */
  readonly rateLimitBurst: number;
  /** Largest estimated cost of one query. */
  readonly queryCostMax: number;
  /** Points in a tenant's query-cost budget. */
  readonly queryCostBudget: number;
  /** Points the budget regains per second. */
  readonly queryCostRestorePerSecond: number;
  /** Failed authentications a client IP may make per minute before it gets 429. */
  readonly authFailuresPerMinute: number;
  /**
   * Which reverse proxies may set X-Forwarded-For: a hop count (0: none), or a list of their
   * addresses and CIDR ranges (and proxy-addr's `loopback`, `linklocal`, `uniquelocal`).
   */
  readonly trustProxy: TrustProxy;
  /** The HTTP door: timeouts, body limit and connection caps (see {@link HttpLimits}). */
  readonly http: HttpLimits;
  /** Metrics and traces (see {@link ObservabilitySettings}). */
  readonly observability: ObservabilitySettings;
  /** Load shedding and the per-tenant in-flight limit (see {@link OverloadLimits}). */
  readonly overload: OverloadLimits;
  /** Origins allowed by CORS besides Apollo Studio. */
  readonly corsOrigins: readonly string[];
  readonly introspection: boolean;
  /** Serve the bundled, offline GraphiQL at /graphiql/ (GRAPHIQL; default: outside production). */
  readonly graphiql: boolean;
  readonly logLevel: LogLevel;
  readonly nodeEnv: string;
  readonly production: boolean;
  /** GraphOS usage reporting, enabled by Apollo when both are set. */
  readonly apolloKey: string | undefined;
  readonly apolloGraphRef: string | undefined;
  /** APOLLO_CACHE_CONTROL (false): Apollo's cache-control plugin, which hooks every field; onceql sets no cache hints. */
  readonly apolloCacheControl: boolean;
}

/** A host and port, as in REDIS_SENTINELS. */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) {
    throw new ConfigError(`${name} must be a whole number between ${min} and ${max}, got "${raw}"`);
  }
  const value = Number(raw.trim());
  if (value < min || value > max) {
    throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

function optional(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === '' ? undefined : raw;
}

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

function redisUrls(raw: string, cluster: boolean): void {
  const urls = cluster ? raw.split(',') : [raw];
  for (const candidate of urls) {
    let url: URL;
    try {
      url = new URL(candidate.trim());
    } catch {
      throw new ConfigError(`REDIS_URL must be a redis:// or rediss:// URL${cluster ? ' list' : ''}, got "${raw}"`);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:' && !(url.protocol === 'unix:' && !cluster)) {
      throw new ConfigError(`REDIS_URL must use redis://, rediss://${cluster ? '' : ' or unix://'}, got "${url.protocol}"`);
    }
  }
}

/** REDIS_SENTINELS: `host:port,host:port` (IPv6 as `[::1]:26379`). */
function sentinelAddresses(env: Env): readonly RedisAddress[] {
  const raw = optional(env, 'REDIS_SENTINELS');
  if (raw === undefined) return Object.freeze([]);
  return Object.freeze(
    raw.split(',').map((entry) => {
      const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(entry.trim());
      const port = Number(match?.[3]);
      if (match === null || port < 1 || port > 65535) {
        throw new ConfigError(`REDIS_SENTINELS must be a comma-separated list of host:port, e.g. 10.0.0.1:26379,10.0.0.2:26379, got "${entry.trim()}"`);
      }
      return Object.freeze({ host: (match[1] ?? match[2]) as string, port });
    }),
  );
}

function redisSettings(env: Env, redisUrl: string | undefined, redisCluster: boolean, commandTimeoutMs: number) {
  const redisSentinels = sentinelAddresses(env);
  if (redisSentinels.length > 0 && (redisUrl !== undefined || redisCluster)) {
    throw new ConfigError('REDIS_SENTINELS cannot be combined with REDIS_URL or REDIS_CLUSTER: the sentinels name the primary');
  }
  const redisSentinelName = optional(env, 'REDIS_SENTINEL_NAME') ?? 'mymaster';
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(redisSentinelName)) {
    throw new ConfigError(`REDIS_SENTINEL_NAME must be 1-128 letters, digits, '.', '_' or '-', got "${redisSentinelName}"`);
  }
  const redisWaitReplicas = integer(env, 'REDIS_WAIT_REPLICAS', 0, 0, 100);
  const redisWaitTimeoutMs = integer(env, 'REDIS_WAIT_TIMEOUT_MS', 500, 1, 600_000);
  if (redisWaitReplicas > 0 && redisWaitTimeoutMs >= commandTimeoutMs) {
    throw new ConfigError(`REDIS_WAIT_TIMEOUT_MS (${redisWaitTimeoutMs}) must be below REDIS_COMMAND_TIMEOUT_MS (${commandTimeoutMs}): WAIT must answer before the command times out`);
  }
  const redisAppendfsync = (optional(env, 'REDIS_APPENDFSYNC') ?? 'everysec').toLowerCase();
  if (!['everysec', 'always', 'no'].includes(redisAppendfsync)) {
    throw new ConfigError(`REDIS_APPENDFSYNC must be everysec, always or no, got "${env.REDIS_APPENDFSYNC}"`);
  }
  return { redisSentinels, redisSentinelName, redisWaitReplicas, redisWaitTimeoutMs, redisAppendfsync: redisAppendfsync as AppendFsync };
}

const TRUST_PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** TRUST_PROXY: a hop count, or a comma-separated list of proxy addresses, CIDRs and names. */
function trustProxy(env: Env): TrustProxy {
  const raw = optional(env, 'TRUST_PROXY');
  if (raw === undefined || /^\d+$/.test(raw)) return integer(env, 'TRUST_PROXY', 0, 0, 32);
  const entries = raw.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  for (const entry of entries) {
    if (TRUST_PROXY_NAMES.includes(entry)) continue;
    try {
      parseAllowlist([entry]);
    } catch {
      throw new ConfigError(`TRUST_PROXY must be a number of proxy hops or a list of proxy addresses and CIDRs (or ${TRUST_PROXY_NAMES.join(', ')}), got "${entry}"`);
    }
  }
  return Object.freeze(entries);
}

function httpLimits(env: Env): HttpLimits {
  const headersTimeoutMs = integer(env, 'HTTP_HEADERS_TIMEOUT_MS', 10_000, 50, 600_000);
  const requestTimeoutMs = integer(env, 'HTTP_REQUEST_TIMEOUT_MS', 30_000, 50, 3_600_000);
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError(`HTTP_HEADERS_TIMEOUT_MS (${headersTimeoutMs}) must not exceed HTTP_REQUEST_TIMEOUT_MS (${requestTimeoutMs}): the headers are part of the request`);
  }
  return Object.freeze({
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: integer(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 5_000, 10, 600_000),
    responseTimeoutMs: integer(env, 'HTTP_RESPONSE_TIMEOUT_MS', 30_000, 50, 3_600_000),
    maxBodyBytes: integer(env, 'HTTP_MAX_BODY_BYTES', 1024 * 1024, 1024, 100 * 1024 * 1024),
    maxConnections: integer(env, 'HTTP_MAX_CONNECTIONS', 10_000, 1, 1_000_000),
    maxConnectionsPerIp: integer(env, 'HTTP_MAX_CONNECTIONS_PER_IP', 100, 1, 1_000_000),
  });
}

function observability(env: Env): ObservabilitySettings {
  const metricsPort = optional(env, 'METRICS_PORT') === undefined ? undefined : integer(env, 'METRICS_PORT', 0, 0, 65535);
  const otlpEndpoint = optional(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') ?? optional(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const tracing = (optional(env, 'TRACING') ?? (otlpEndpoint === undefined ? 'off' : 'otlp')).toLowerCase();
  if (tracing !== 'off' && tracing !== 'otlp') throw new ConfigError(`TRACING must be off or otlp, got "${env.TRACING}"`);
  return Object.freeze({
    metricsPort,
    metricsHost: optional(env, 'METRICS_HOST') ?? '127.0.0.1',
    metricsTenantLabel: boolean(env, 'METRICS_TENANT_LABEL', false),
    tracing: tracing === 'otlp',
    serviceName: optional(env, 'OTEL_SERVICE_NAME') ?? 'onceql',
  });
}

function overload(env: Env): OverloadLimits {
  const shedReadsInFlight = integer(env, 'SHED_READS_IN_FLIGHT', 800, 1, 1_000_000);
  const shedWritesInFlight = integer(env, 'SHED_WRITES_IN_FLIGHT', 1000, 1, 1_000_000);
  const shedReadsLagMs = integer(env, 'SHED_READS_LAG_MS', 500, 1, 600_000);
  const shedWritesLagMs = integer(env, 'SHED_WRITES_LAG_MS', 1000, 1, 600_000);
  if (shedReadsInFlight > shedWritesInFlight) {
    throw new ConfigError(`SHED_READS_IN_FLIGHT (${shedReadsInFlight}) must not exceed SHED_WRITES_IN_FLIGHT (${shedWritesInFlight}): reads are shed first`);
  }
  if (shedReadsLagMs > shedWritesLagMs) {
    throw new ConfigError(`SHED_READS_LAG_MS (${shedReadsLagMs}) must not exceed SHED_WRITES_LAG_MS (${shedWritesLagMs}): reads are shed first`);
  }
  return Object.freeze({ shedReadsInFlight, shedWritesInFlight, shedReadsLagMs, shedWritesLagMs, tenantMaxInFlight: integer(env, 'TENANT_MAX_IN_FLIGHT', 50, 1, 1_000_000) });
}

function origins(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '')
    .map((origin) => {
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        throw new ConfigError(`CORS_ORIGINS must be a comma-separated list of origins such as https://app.example.com, got "${origin}"`);
      }
      if (url.origin !== origin.replace(/\/$/, '')) {
        throw new ConfigError(`CORS_ORIGINS entries must be bare origins (scheme://host[:port]), got "${origin}"`);
      }
      return url.origin;
    });
}

/**
 * Reads and validates the settings once. This is the only place that reads the environment;
 * everything else receives the frozen result.
 */
export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = optional(env, 'NODE_ENV') ?? 'development';
  const redisCluster = boolean(env, 'REDIS_CLUSTER', false);
  const redisUrl = optional(env, 'REDIS_URL');
  if (redisUrl !== undefined) redisUrls(redisUrl, redisCluster);
  if (redisCluster && redisUrl === undefined) {
    throw new ConfigError('REDIS_CLUSTER=true needs REDIS_URL listing the seed nodes, e.g. redis://10.0.0.1:7000,redis://10.0.0.2:7000');
  }
  const redisCommandTimeoutMs = integer(env, 'REDIS_COMMAND_TIMEOUT_MS', 2_000, 10, 600_000);
  const logLevel = (optional(env, 'LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  }
  const queryCostMax = integer(env, 'QUERY_COST_MAX', 1000, 1, 10_000_000);
  const queryCostBudget = integer(env, 'QUERY_COST_BUDGET', 2000, 1, 100_000_000);
  if (queryCostMax > queryCostBudget) {
    throw new ConfigError(`QUERY_COST_MAX (${queryCostMax}) must not exceed QUERY_COST_BUDGET (${queryCostBudget}): such a query could never run`);
  }
  return Object.freeze({
    port: integer(env, 'PORT', 4000, 0, 65535),
    host: optional(env, 'HOST') ?? 'localhost',
    redisUrl,
    redisCluster,
    redisCommandTimeoutMs,
    ...redisSettings(env, redisUrl, redisCluster, redisCommandTimeoutMs),
    dataDir: path.resolve(optional(env, 'DATA_DIR') ?? '.data'),
    idempotencyTtlSeconds: integer(env, 'IDEMPOTENCY_TTL_SECONDS', 86_400, 1, 31_536_000),
    idempotencyLeaseMs: integer(env, 'IDEMPOTENCY_LEASE_MS', 10_000, 100, 3_600_000),
    idempotencyWaitMs: integer(env, 'IDEMPOTENCY_WAIT_MS', 5_000, 0, 600_000),
    rateLimitPerSecond: integer(env, 'RATE_LIMIT_PER_SECOND', 100, 1, 1_000_000),
    rateLimitBurst: integer(env, 'RATE_LIMIT_BURST', 20, 0, 1_000_000),
    queryCostMax,
    queryCostBudget,
    queryCostRestorePerSecond: integer(env, 'QUERY_COST_RESTORE_PER_SECOND', 100, 1, 10_000_000),
    authFailuresPerMinute: integer(env, 'AUTH_FAILURES_PER_MINUTE', 20, 1, 1_000_000),
    trustProxy: trustProxy(env),
    http: httpLimits(env),
    observability: observability(env),
    overload: overload(env),
    corsOrigins: Object.freeze(origins(optional(env, 'CORS_ORIGINS'))),
    introspection: boolean(env, 'INTROSPECTION', true),
    graphiql: boolean(env, 'GRAPHIQL', nodeEnv !== 'production'),
    logLevel: logLevel as LogLevel,
    nodeEnv,
    production: nodeEnv === 'production',
    apolloKey: optional(env, 'APOLLO_KEY'),
    apolloGraphRef: optional(env, 'APOLLO_GRAPH_REF'),
    apolloCacheControl: boolean(env, 'APOLLO_CACHE_CONTROL', false),
  });
}
