import type { GraphQLError } from 'graphql';
import type { ScriptClient } from '@onceql/redis-script';
import type { AtomicIdempotency, FieldStatus } from './atomic';
import type { IdempotencyKeyInvalidError } from './errors';
import { idempotencyRecordKey, legacyIdempotencyRecordKey } from './key';
import type { LeasedExecution } from './leased';
import { LeasedIdempotency } from './leased';

export interface IdempotencyOptions<TContext extends object> {
  readonly redis: ScriptClient;
  /**
   * The caller's namespace for records, with its Redis Cluster hash tag, e.g. `oq:{t:<tenantId>}`:
   * keys are scoped by it, so two tenants using one key never meet.
   */
  readonly identify: (context: TContext) => string;
  /** IDEMPOTENCY_TTL_SECONDS: how long outcomes are kept and replayed. */
  readonly ttlSeconds: number;
  /** IDEMPOTENCY_LEASE_MS: how long a leased claim is exclusive. */
  readonly leaseMs: number;
  /** IDEMPOTENCY_WAIT_MS: how long a duplicate waits for a running leased execution. */
  readonly waitMs: number;
  /** Name of the key argument on mutation fields (default `idempotencyKey`). */
  readonly keyArgument?: string;
  /** See {@link LeasedIdempotencyOptions.isFinalError}. */
  readonly isFinalError?: (error: unknown) => error is GraphQLError;
}

/** What `extensions.idempotency` lists per mutation field. */
export interface IdempotencyEntry {
  readonly path: readonly (string | number)[];
  readonly key: string;
  readonly status: FieldStatus;
}

/** One mutation field with a key, as its resolver sees it through `@IdempotencyCall()`. */
export class IdempotencyCall implements AtomicIdempotency {
  status: FieldStatus | undefined;
  /** Set on the leased path while the resolver runs. */
  execution: LeasedExecution | undefined;
  readonly recordKey: string;
  readonly legacyRecordKey: string;
  readonly scriptArgs: readonly [string, string, string, string];

  constructor(
    readonly namespace: string,
    readonly key: string,
    readonly fingerprint: string,
    readonly mutation: string,
    ttlSeconds: number,
  ) {
    this.recordKey = idempotencyRecordKey(namespace, key);
    this.legacyRecordKey = legacyIdempotencyRecordKey(namespace, key);
    this.scriptArgs = [key, fingerprint, mutation, String(ttlSeconds * 1000)];
  }

  settle(status: FieldStatus): void {
    this.status = status;
  }
}

/** Per-request state shared by the plugin and the field middleware. */
export interface RequestIdempotency {
  readonly runtime: IdempotencyRuntime<object>;
  headerKey: string | undefined;
  headerError: IdempotencyKeyInvalidError | undefined;
  readonly entries: IdempotencyEntry[];
  readonly calls: Map<string, IdempotencyCall>;
}

const requests = new WeakMap<object, RequestIdempotency>();

export function attachRequest(context: object, state: RequestIdempotency): void {
  requests.set(context, state);
}

export function requestIdempotency(context: object): RequestIdempotency {
  const state = requests.get(context);
  if (state === undefined) throw new Error('@Idempotent needs idempotencyPlugin() in the ApolloServer plugins');
  return state;
}

export class IdempotencyRuntime<TContext extends object> {
  readonly leased: LeasedIdempotency;
  readonly keyArgument: string;

  constructor(readonly options: IdempotencyOptions<TContext>) {
    for (const [name, value, min] of [
      ['ttlSeconds', options.ttlSeconds, 1],
      ['leaseMs', options.leaseMs, 1],
      ['waitMs', options.waitMs, 0],
    ] as const) {
      if (!Number.isInteger(value) || value < min) throw new TypeError(`idempotency option ${name} must be an integer >= ${min}, got ${value}`);
    }
    this.keyArgument = options.keyArgument ?? 'idempotencyKey';
    this.leased = new LeasedIdempotency(options);
  }
}
