import type http from 'node:http';
import type { ApolloServerPlugin, GraphQLRequestExecutionListener, HeaderMap } from '@apollo/server';
import { context as traceContext, trace } from '@opentelemetry/api';
import type { Span } from '@opentelemetry/api';
import { getOperationAST, Kind, parse } from 'graphql';
import type { FormattedExecutionResult, OperationDefinitionNode } from 'graphql';
import { ApiError, ErrorCode, HTTP_STATUS } from '../errors';
import type { Refusal } from '../refusal';
import type { Logger } from './logger';
import { shortHash } from './logger';
import type { IdempotencyOutcome, Metrics } from './metrics';
import type { LoadShedder, RequestKind, TenantInFlight } from './overload';
import { callerContext, failSpan, inSpan, startServerSpan, tracer } from './tracing';

export interface RequestObservabilityOptions {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly shedder: LoadShedder;
  readonly tenants: TenantInFlight;
  /** Spans for requests, the admit step, scripts and resolvers (TRACING). Default false. */
  readonly tracing?: boolean;
  /** How long a shed or concurrency-limited client is told to wait. Default 1000 ms. */
  readonly retryAfterMs?: number;
  /**
   * Whether a request carries a well-formed api key (not yet whether it is a known one): while
   * reads are shed, a request without one cannot be a write that runs now.
   */
  readonly hasUsableKey: (headers: HeaderMap) => boolean;
  /** How a Lua script call failed, the `kind` label of `onceql_redis_errors_total`. */
  readonly scriptFailureKind: (error: unknown) => ScriptFailureKind;
}

/** How a script call failed: nothing sent, sent without reply, or an error reply from Redis. */
export type ScriptFailureKind = 'unavailable' | 'outcome_unknown' | 'error';

/** The handler of `/graphql`, as `handler` wraps it. */
export type ObservedHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, requestId: string) => Promise<void>;

/** What `requestKind` reads of a GraphQL request. */
export interface ObservedParams {
  readonly query: unknown;
  readonly operationName: string | undefined;
  /** Not read: the request's variables, allowed so that a whole set of GraphQL parameters passes. */
  readonly variables?: Record<string, unknown>;
  readonly extensions?: Record<string, unknown>;
}

/** What the admit wrapper reads of one request. */
export interface ObservedAdmitInput {
  readonly headers: HeaderMap;
  readonly params: ObservedParams;
  /** The node request: the key of its record (see `handler`). */
  readonly request?: object;
}

/** What the admit wrapper reads of an admitted request. */
export interface ObservedAdmitted {
  readonly context: object;
  readonly headers: readonly (readonly [string, string])[];
}

/** Who an admitted request is, for logs and the per-tenant limit. */
export interface RequestIdentity {
  readonly tenantId: string;
  /** The key's public prefix (`oq_<tenant>_<key>`), never the key. */
  readonly keyPrefix: string;
  /** Query-cost points charged by the admit step. */
  readonly chargedCost: number;
}

/** What is known of one request by the time its answer ends: one log line and one count. */
class RequestRecord {
  readonly startedAt = process.hrtime.bigint();
  operationType = 'none';
  operation = 'none';
  operationName: string | undefined;
  identity: RequestIdentity | undefined;
  /** The code of a refusal decided outside Apollo. */
  code: string | undefined;
  answer: FormattedExecutionResult | undefined;
  releaseTenant: (() => void) | undefined;
  /** Refused by the load shedder already (not counted twice). */
  shed = false;
  span: Span | undefined;
  /** Requests in flight when this one entered (its body read); set by `enter`. */
  inFlightBefore = 0;
  /** Leaves the in-flight count; set once the request entered it. */
  leave: (() => void) | undefined;
  /** Unexpected errors met while answering (see `noteUnexpectedError`). */
  unexpectedErrors = 0;

  constructor(readonly requestId: string) {}
}

const RECORD = Symbol('onceql.requestRecord');

/** The code each refusal rendered outside Apollo was answered with, by its node response (see `noteRefusalCode`). */
const refusalCodes = new WeakMap<object, string>();

/** Tells observability the code a response was refused with, for the request's log line and metrics (http/respond calls it). */
export function noteRefusalCode(res: object, code: string): void {
  refusalCodes.set(res, code);
}

/**
 * The record of each request being handled, by its node request (which the door hands to the
 * admit step's inputs). Not an AsyncLocalStorage: once one is entered, node runs promise hooks on
 * every promise of the process, a measurable share of each request's CPU.
 */
const records = new WeakMap<object, RequestRecord>();

/** The record of the request whose answer carries an error, tagged when Apollo reports the request's errors. */
const recordOfError = new WeakMap<object, RequestRecord>();

/**
 * Counts an unexpected error of the request whose answer carries `error` and returns how many it
 * has met so far (1 when the error is not known to belong to a request). One failure (Redis
 * refusing a script) fails every root field of a request alike: the caller logs the first few
 * whole and only counts the rest, which the request's own log line reports.
 */
export function noteUnexpectedError(error: unknown): number {
  const record = typeof error === 'object' && error !== null ? recordOfError.get(error) : undefined;
  if (record === undefined) return 1;
  record.unexpectedErrors += 1;
  return record.unexpectedErrors;
}

/** Fields resolved by a Redis call (root fields are all traced as well). */
const IO_FIELDS = new Set(['Account.transfers', 'Transfer.fromAccount', 'Transfer.toAccount']);

const IDEMPOTENCY_STATUSES: Readonly<Record<string, IdempotencyOutcome>> = { EXECUTED: 'executed', REPLAYED: 'replayed', RECOVERED: 'recovered' };
const IDEMPOTENCY_ERRORS: Readonly<Record<string, IdempotencyOutcome>> = { IDEMPOTENCY_KEY_REUSED: 'key_reused', IDEMPOTENCY_REQUEST_IN_PROGRESS: 'in_progress' };

/**
 * Logs, metrics, traces and overload protection of `/graphql`, fitted around the door's handler
 * and the admit step without changing either:
 *
 * - `handler(h)` wraps the handler: when the answer ends, one log line and its metrics; with
 *   tracing, it runs inside a server span continuing the caller's `traceparent`.
 * - `admit(a)` wraps the admit step: the request counts in flight from here (its body read)
 *   until its answer ends; before the step (so before any Redis call) the process sheds load,
 *   queries first; after it, the per-tenant in-flight limit; the limiters' decisions are counted.
 *   A request whose body is still arriving is not in flight: otherwise anyone could dribble
 *   bodies on many connections, unauthenticated, and make the process shed everyone else's work.
 * - `plugin()` reads the operation and the answer from Apollo (and, with tracing, times the
 *   resolvers that do I/O).
 * - `script` times each Lua script call (see `observeScripts`).
 *
 * The request's record travels by its node request (a WeakMap) from the handler to the admit step, and
 * on its context object (under a symbol, which Apollo's per-request copy of the context
 * keeps) into Apollo.
 */
export class RequestObservability {
  private readonly tracing: boolean;
  private readonly retryAfterMs: number;

  constructor(private readonly options: RequestObservabilityOptions) {
    this.tracing = options.tracing ?? false;
    this.retryAfterMs = options.retryAfterMs ?? 1000;
  }

  handler(inner: ObservedHandler): ObservedHandler {
    const { metrics } = this.options;
    return (req, res, url, requestId) => {
      const record = new RequestRecord(requestId);
      res.once('close', () => {
        if (record.leave !== undefined) {
          record.leave();
          metrics.inFlight.dec();
        }
        record.releaseTenant?.();
        this.finish(record, res);
      });
      records.set(req, record);
      if (!this.tracing) return inner(req, res, url, requestId);
      const span = startServerSpan(`${req.method ?? 'GET'} /graphql`, callerContext(req.headers), { 'http.request.method': req.method ?? 'GET', 'url.path': url.pathname });
      record.span = span;
      const active = trace.setSpan(traceContext.active(), span);
      return traceContext.with(active, () => inner(req, res, url, requestId));
    };
  }

  admit<TInput extends ObservedAdmitInput, TAdmitted extends ObservedAdmitted>(
    inner: (input: TInput) => Promise<TAdmitted | Refusal>,
    identify: (context: TAdmitted['context']) => RequestIdentity,
  ): (input: TInput) => Promise<TAdmitted | Refusal> {
    const { shedder, tenants, metrics, hasUsableKey } = this.options;
    return async (input) => {
      const record = input.request === undefined ? undefined : records.get(input.request);
      if (record !== undefined && record.leave === undefined) {
        record.inFlightBefore = shedder.inFlight;
        record.leave = shedder.enter();
        metrics.inFlight.inc();
      }
      if (record !== undefined && !record.shed) {
        record.operationName = input.params.operationName?.slice(0, 100);
        const level = shedder.level(record.inFlightBefore);
        // Without a usable key nothing can be a write that runs now (a GET carries no body for beforeBody to shed).
        const keyless = level === 'reads' && !hasUsableKey(input.headers);
        if (level === 'all' || (level === 'reads' && (keyless || requestKind(input.params) === 'read'))) {
          metrics.limiterDecision('shed', 'refused');
          return this.refuse(record, ErrorCode.SERVICE_UNAVAILABLE, 'The server is overloaded; retry shortly.');
        }
      }
      const result = this.tracing ? await inSpan('admit', {}, () => inner(input)) : await inner(input);
      if (isRefusal(result)) {
        this.countRefusal(result);
        if (record !== undefined) record.code = String(result.error.extensions.code);
        return result;
      }
      const identity = identify(result.context);
      metrics.limiterDecision('rate', 'admitted');
      metrics.limiterDecision('cost', 'admitted');
      metrics.cost('charged', identity.chargedCost);
      const release = tenants.acquire(identity.tenantId);
      if (release === null) {
        metrics.limiterDecision('concurrency', 'refused');
        const refused = this.refuse(record, ErrorCode.CONCURRENCY_LIMITED, 'Too many requests of this tenant are in flight; retry when some have finished.');
        return { ...refused, headers: result.headers };
      }
      metrics.limiterDecision('concurrency', 'admitted');
      if (record === undefined) {
        release();
      } else {
        record.identity = identity;
        record.releaseTenant = release;
        // Enumerable: Apollo copies the context with Object.assign; a symbol key stays out of JSON and Object.keys.
        Object.defineProperty(result.context, RECORD, { value: record, enumerable: true });
      }
      return result;
    };
  }

  /**
   * Wraps the door's headers-only check that runs before a body is read (it may call Redis: to
   * count a failed authentication, or to prove a key before a large body). While the process
   * sheds everything, nothing gets to it; while it sheds reads, requests with no usable key or a
   * body too large to read unproven are shed too (neither is a write that can run now), and the
   * rest, answered without Redis, go on to the admit step, which tells reads from writes.
   */
  beforeBody<TInput extends { readonly headers: HeaderMap; readonly proveKey: boolean; readonly request?: object }>(inner: (input: TInput) => Promise<Refusal | null>): (input: TInput) => Promise<Refusal | null> {
    const { shedder, metrics, hasUsableKey } = this.options;
    return async (input) => {
      const record = input.request === undefined ? undefined : records.get(input.request);
      if (record !== undefined) {
        const level = shedder.level();
        const unproven = !hasUsableKey(input.headers) || input.proveKey;
        if (level === 'all' || (level === 'reads' && unproven)) {
          metrics.limiterDecision('shed', 'refused');
          record.shed = true;
          return this.refuse(record, ErrorCode.SERVICE_UNAVAILABLE, 'The server is overloaded; retry shortly.');
        }
      }
      return inner(input);
    };
  }

  /** Counts the points a query gave back after execution (wraps the cost plugin's refund). */
  refund<TContext>(inner: (context: TContext, points: number) => Promise<unknown>): (context: TContext, points: number) => Promise<unknown> {
    return (context, points) => {
      this.options.metrics.cost('refunded', points);
      return inner(context, points);
    };
  }

  /** Times one Lua script call, counts its failures, and traces it. */
  readonly script = <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const { metrics } = this.options;
    const started = process.hrtime.bigint();
    const sent = this.tracing ? inSpan(`redis ${name}`, { 'db.system': 'redis', 'db.operation.name': name }, run) : run();
    return sent.then(
      (reply) => {
        metrics.redisDuration.observe({ script: name }, seconds(started));
        return reply;
      },
      (error: unknown) => {
        metrics.redisDuration.observe({ script: name }, seconds(started));
        metrics.redisErrors.inc({ script: name, kind: this.options.scriptFailureKind(error) });
        throw error;
      },
    );
  };

  plugin<TContext extends object>(): ApolloServerPlugin<TContext> {
    const traceResolvers = this.tracing;
    return {
      async requestDidStart({ contextValue }) {
        const record = (contextValue as { [RECORD]?: RequestRecord })[RECORD];
        if (record === undefined) return;
        return {
          async didResolveOperation({ operation }) {
            if (operation === undefined || operation === null) return;
            record.operationType = operation.operation;
            record.operation = rootFieldOf(operation);
            if (operation.name !== undefined) record.operationName = operation.name.value.slice(0, 100);
          },
          async executionDidStart(): Promise<GraphQLRequestExecutionListener<TContext> | void> {
            if (!traceResolvers) return;
            return {
              willResolveField({ info }) {
                const field = `${info.parentType.name}.${info.fieldName}`;
                const root = info.path.prev === undefined;
                if (!(root && !info.fieldName.startsWith('__')) && !IO_FIELDS.has(field)) return;
                const span = tracer().startSpan(`resolve ${field}`, { attributes: { 'graphql.field.path': field } });
                return (error) => {
                  if (error !== null) failSpan(span, error);
                  span.end();
                };
              },
            };
          },
          async didEncounterErrors({ errors }) {
            // Apollo formats these errors right after this hook; formatError counts them by this tag.
            for (const error of errors) recordOfError.set(error, record);
          },
          async willSendResponse({ response }) {
            if (response.body.kind === 'single') record.answer = response.body.singleResult;
          },
        };
      },
    };
  }

  private refuse(record: RequestRecord | undefined, code: ErrorCode, message: string): Refusal {
    if (record !== undefined) record.code = code;
    return { error: new ApiError(code, message, { retryAfterMs: this.retryAfterMs }) };
  }

  private countRefusal(refused: Refusal): void {
    const { metrics } = this.options;
    switch (refused.error.extensions.code) {
      case ErrorCode.RATE_LIMITED:
        // The failed-authentication throttle refuses without the tenant's RateLimit headers.
        metrics.limiterDecision(refused.headers === undefined ? 'auth_failures' : 'rate', 'refused');
        return;
      case ErrorCode.QUERY_COST_THROTTLED:
        metrics.limiterDecision('rate', 'admitted');
        metrics.limiterDecision('cost', 'refused');
        return;
      default:
        return;
    }
  }

  private finish(record: RequestRecord, res: http.ServerResponse): void {
    const aborted = !res.writableFinished;
    const status = aborted ? 499 : res.statusCode;
    const answer = record.answer;
    const code = aborted ? 'CLIENT_CLOSED_REQUEST' : (record.code ?? refusalCodes.get(res) ?? answerCode(answer, status));
    const durationSeconds = seconds(record.startedAt);
    const tenant = record.identity?.tenantId;
    this.options.metrics.request({ operationType: record.operationType, operation: record.operation, code, status, tenant }, durationSeconds);

    const idempotency: { status: string; keyHash?: string }[] = [];
    const entries = answer?.extensions?.idempotency;
    if (Array.isArray(entries)) {
      for (const entry of entries as { status?: unknown; key?: unknown }[]) {
        const outcome = IDEMPOTENCY_STATUSES[String(entry.status)];
        if (outcome !== undefined) this.options.metrics.idempotencyOutcome(outcome);
        idempotency.push({ status: String(entry.status), ...(typeof entry.key === 'string' ? { keyHash: shortHash(tenant ?? '', entry.key) } : {}) });
      }
    }
    for (const error of answer?.errors ?? []) {
      const outcome = IDEMPOTENCY_ERRORS[String(error.extensions?.code)];
      if (outcome === undefined) continue;
      this.options.metrics.idempotencyOutcome(outcome);
      idempotency.push({ status: String(error.extensions?.code) });
    }

    this.options.logger.info('request', {
      requestId: record.requestId,
      tenant,
      keyPrefix: record.identity?.keyPrefix,
      operationType: record.operationType,
      operation: record.operation,
      operationName: record.operationName,
      durationMs: Math.round(durationSeconds * 1e4) / 10,
      status,
      code,
      ...(idempotency.length > 0 ? { idempotency } : {}),
      ...(record.unexpectedErrors > 0 ? { unexpectedErrors: record.unexpectedErrors } : {}),
    });

    const span = record.span;
    if (span !== undefined) {
      span.setAttributes({ 'http.response.status_code': status, 'onceql.code': code, 'graphql.operation.type': record.operationType });
      if (status >= 500) span.setStatus({ code: 2, message: code });
      span.end();
    }
  }
}

function isRefusal<T extends object>(result: T | Refusal): result is Refusal {
  return 'error' in result;
}

function seconds(startedAt: bigint): number {
  return Number(process.hrtime.bigint() - startedAt) / 1e9;
}

/** The root field of an operation, `multiple` when it selects several, `none` when only `__typename`. */
function rootFieldOf(operation: OperationDefinitionNode): string {
  const names = new Set<string>();
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) return 'multiple';
    if (!selection.name.value.startsWith('__')) names.add(selection.name.value);
  }
  if (names.size === 0) return 'none';
  return names.size === 1 ? ([...names][0] ?? 'none') : 'multiple';
}

/** The code of an answer Apollo wrote: its first error's for an error status, else OK. */
function answerCode(answer: FormattedExecutionResult | undefined, status: number): string {
  if (status < 400) return 'OK';
  const code = answer?.errors?.find((error) => typeof error.extensions?.code === 'string' && HTTP_STATUS[error.extensions.code as ErrorCode] === status)?.extensions?.code;
  return typeof code === 'string' ? code : `HTTP_${status}`;
}

/**
 * Whether a request reads or writes, for shedding reads first. Called only while the process is
 * shedding reads, so the parse (bounded by the token cap) happens only then. Anything that cannot
 * be told to be a mutation counts as a read, except a trusted document named by its hash alone:
 * it may be a mutation (its text is looked up only in Redis, after this), and a write must not be
 * shed as a read.
 */
export function requestKind(params: ObservedParams, maxTokens = 3000): RequestKind {
  if (typeof params.query !== 'string') return params.extensions?.persistedQuery !== undefined ? 'write' : 'read';
  try {
    const operation = getOperationAST(parse(params.query, { maxTokens, noLocation: true }), params.operationName);
    return operation?.operation === 'mutation' ? 'write' : 'read';
  } catch {
    return 'read';
  }
}
