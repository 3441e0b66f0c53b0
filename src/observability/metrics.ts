import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface MetricsOptions {
  /**
   * Adds a `tenant` label to the request counter (METRICS_TENANT_LABEL, default false). Tenants
   * are many: every tenant multiplies that series, so only turn it on with few tenants.
   */
  readonly tenantLabel?: boolean;
  /** Node's own metrics (CPU, memory, GC, event loop, handles). Default true. */
  readonly defaultMetrics?: boolean;
}

/** What happened to one mutation field's idempotency key. */
export type IdempotencyOutcome = 'executed' | 'replayed' | 'recovered' | 'key_reused' | 'in_progress';
/** Which limiter decided. `concurrency` is the per-tenant in-flight limit; `shed` the process's load shedding. */
export type Limiter = 'rate' | 'cost' | 'auth_failures' | 'concurrency' | 'shed';

/** One request as the request counter sees it: every label value comes from a bounded set. */
export interface RequestLabels {
  /** `query`, `mutation`, or `none` (refused before its operation was known). */
  readonly operationType: string;
  /** The root field when the operation has one (a schema name), `multiple`, or `none`. */
  readonly operation: string;
  /** `OK` or a public error code. */
  readonly code: string;
  readonly status: number;
  readonly tenant?: string;
}

/**
 * The process's Prometheus metrics, in a registry of its own (two servers in one process, as in
 * tests, do not share counters). No label takes a caller's value: no keys, ids, queries or
 * operation names; root fields and codes come from the schema and the error table.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly tenantLabel: boolean;

  readonly requests: Counter<string>;
  readonly requestDuration: Histogram<string>;
  readonly inFlight: Gauge<string>;
  readonly idempotency: Counter<string>;
  readonly limiter: Counter<string>;
  readonly costPoints: Counter<string>;
  readonly redisDuration: Histogram<string>;
  readonly redisErrors: Counter<string>;
  readonly eventLoopLag: Gauge<string>;
  readonly shedding: Gauge<string>;

  constructor(options: MetricsOptions = {}) {
    this.tenantLabel = options.tenantLabel ?? false;
    const registers = [this.registry];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'onceql_requests_total',
      help: 'GraphQL requests answered, by operation type, root field, code and HTTP status.',
      labelNames: ['operation_type', 'operation', 'code', 'status', ...(this.tenantLabel ? ['tenant'] : [])],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'onceql_request_duration_seconds',
      help: 'Time from the request reaching /graphql to the end of its answer.',
      labelNames: ['operation_type', 'operation'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.inFlight = new Gauge({ name: 'onceql_requests_in_flight', help: 'GraphQL requests being served now.', registers });
    this.idempotency = new Counter({
      name: 'onceql_idempotency_outcomes_total',
      help: 'Mutation fields with an idempotency key, by what happened: executed, replayed, recovered (lease taken over), key_reused (422), in_progress (409).',
      labelNames: ['outcome'],
      registers,
    });
    this.limiter = new Counter({
      name: 'onceql_limiter_decisions_total',
      help: 'Decisions of the limiters: rate (per tenant/key), cost (query-cost budget), auth_failures (per address), concurrency (per-tenant in flight), shed (process overload).',
      labelNames: ['limiter', 'decision'],
      registers,
    });
    this.costPoints = new Counter({
      name: 'onceql_query_cost_points_total',
      help: 'Query-cost points charged before execution and refunded after it.',
      labelNames: ['direction'],
      registers,
    });
    this.redisDuration = new Histogram({
      name: 'onceql_redis_script_duration_seconds',
      help: 'Round trip of each Lua script call, by script.',
      labelNames: ['script'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.redisErrors = new Counter({
      name: 'onceql_redis_script_errors_total',
      help: 'Lua script calls that failed, by script and kind: unavailable (nothing sent), outcome_unknown (sent, no reply), error (Redis answered an error).',
      labelNames: ['script', 'kind'],
      registers,
    });
    // Read at each scrape from whatever observeLoad was given.
    const load = () => this.load();
    this.eventLoopLag = new Gauge({
      name: 'onceql_event_loop_lag_seconds',
      help: 'Event-loop delay as the load shedder sees it (p99 over a window, the lower of the last two windows).',
      registers,
      collect() {
        this.set(load().lagSeconds);
      },
    });
    this.shedding = new Gauge({
      name: 'onceql_shedding',
      help: 'What the process sheds now: 0 nothing, 1 reads, 2 reads and writes.',
      registers,
      collect() {
        this.set(load().shedding);
      },
    });
  }

  private load: () => { lagSeconds: number; shedding: number } = () => ({ lagSeconds: 0, shedding: 0 });

  /** Where the load gauges read the event-loop lag and the shed level at each scrape. */
  observeLoad(read: () => { lagSeconds: number; shedding: number }): void {
    this.load = read;
  }

  request(labels: RequestLabels, durationSeconds: number): void {
    const values: Record<string, string | number> = { operation_type: labels.operationType, operation: labels.operation, code: labels.code, status: labels.status };
    if (this.tenantLabel) values.tenant = labels.tenant ?? 'none';
    this.requests.inc(values);
    this.requestDuration.observe({ operation_type: labels.operationType, operation: labels.operation }, durationSeconds);
  }

  idempotencyOutcome(outcome: IdempotencyOutcome): void {
    this.idempotency.inc({ outcome });
  }

  limiterDecision(limiter: Limiter, decision: 'admitted' | 'refused'): void {
    this.limiter.inc({ limiter, decision });
  }

  cost(direction: 'charged' | 'refunded', points: number): void {
    if (points > 0 && Number.isFinite(points)) this.costPoints.inc({ direction }, points);
  }

  /** The text Prometheus scrapes, and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
