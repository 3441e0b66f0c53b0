import { GraphQLError } from 'graphql';
import type { RedisClient } from '../redis/client';
import { waitForRedis } from '../redis/client';
import { runScript } from '../redis/scripts';
import type { FieldStatus } from './atomic';
import { decodeResult, encodeResult } from './codec';
import { IdempotencyKeyReusedError, IdempotencyRequestInProgressError } from './errors';
import { downstreamKey, fencingCounterKey, idempotencyRecordKey, legacyIdempotencyRecordKey } from './key';

export interface LeasedIdempotencyOptions {
  readonly redis: RedisClient;
  /** How long a claim is exclusive; past it, a duplicate takes over (RECOVERED). */
  readonly leaseMs: number;
  /** How long a duplicate waits for a running execution before it gets 409. */
  readonly waitMs: number;
  /** Retention of completed records. */
  readonly ttlSeconds: number;
  /**
   * Which errors are the mutation's final outcome, recorded and replayed. Default: a GraphQLError
   * with a code other than INTERNAL_SERVER_ERROR / SERVICE_UNAVAILABLE. Any other error releases
   * the claim, so that a retry executes.
   */
  readonly isFinalError?: (error: unknown) => error is GraphQLError;
}

/** One leased execution: hand `downstreamKey` to the other system's own idempotency. */
export interface LeasedExecution {
  readonly token: number;
  readonly downstreamKey: string;
  readonly recovered: boolean;
}

export interface LeasedCall {
  /** The caller's namespace, with its hash tag (onceql: `oq:{t:<tenantId>}`). */
  readonly namespace: string;
  readonly key: string;
  readonly fingerprint: string;
  readonly mutation: string;
}

export type LeasedOutcome<T> = { readonly status: FieldStatus } & ({ readonly value: T } | { readonly error: GraphQLError });

const Claim = { CLAIMED: 1, RECOVERED: 2, COMPLETED: 3, IN_PROGRESS: 4, MISMATCH: 5 } as const;
const Complete = { STORED: 1, FENCED_COMPLETED: 2, FENCED_OPEN: 3 } as const;

function defaultIsFinalError(error: unknown): error is GraphQLError {
  const code = error instanceof GraphQLError ? error.extensions.code : undefined;
  return typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR' && code !== 'SERVICE_UNAVAILABLE';
}

/** The replay of a recorded outcome: the value, or the same error (code, message, extensions). */
function replayOf<T>(fields: unknown[], status: FieldStatus): LeasedOutcome<T> {
  const [outcome, result, errorCode, errorMessage, errorExtensions] = fields.map(String);
  if (outcome === 'SUCCEEDED') return { status, value: decodeResult(result ?? 'null') as T };
  const extensions = errorExtensions ? (JSON.parse(errorExtensions) as Record<string, unknown>) : {};
  return { status, error: new GraphQLError(errorMessage ?? 'The recorded execution failed.', { extensions: { ...extensions, code: errorCode } }) };
}

/**
 * Tells waiting duplicates that a key completed or was released, over Redis pub/sub, so that they
 * wait on a message instead of polling. One subscriber connection per process, made on first use.
 */
class CompletionNotifier {
  private subscriber: Promise<RedisClient> | undefined;
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(private readonly redis: RedisClient) {}

  private connect(): Promise<RedisClient> {
    this.subscriber ??= (async () => {
      const subscriber = this.redis.duplicate();
      subscriber.on('error', () => undefined);
      subscriber.on('message', (channel: string) => {
        for (const wake of this.waiters.get(channel) ?? []) wake();
      });
      await waitForRedis(subscriber, 2_000);
      return subscriber;
    })().catch((error: unknown) => {
      this.subscriber = undefined;
      throw error;
    });
    return this.subscriber;
  }

  /** Subscribes before the caller re-checks the record, so that no completion can slip between. */
  async listen(channel: string): Promise<{ wait(timeoutMs: number): Promise<void>; close(): void }> {
    let wake: () => void = () => undefined;
    let signalled = false;
    const onMessage = () => {
      signalled = true;
      wake();
    };
    let set = this.waiters.get(channel);
    if (set === undefined) {
      set = new Set();
      this.waiters.set(channel, set);
    }
    set.add(onMessage);
    let subscriber: RedisClient | undefined;
    try {
      subscriber = await this.connect();
      await subscriber.subscribe(channel);
    } catch {
      // Without pub/sub the waiter still wakes at its timeout (the lease end or the deadline).
    }
    return {
      wait: (timeoutMs) =>
        new Promise<void>((resolve) => {
          if (signalled) {
            signalled = false;
            resolve();
            return;
          }
          const timer = setTimeout(() => resolve(), Math.max(1, timeoutMs));
          wake = () => {
            clearTimeout(timer);
            signalled = false;
            resolve();
          };
        }),
      close: () => {
        set.delete(onMessage);
        if (set.size === 0) {
          this.waiters.delete(channel);
          subscriber?.unsubscribe(channel).catch(() => undefined);
        }
      },
    };
  }

  async close(): Promise<void> {
    const subscriber = await this.subscriber?.catch(() => undefined);
    subscriber?.disconnect();
  }
}

/**
 * The leased path: claim (a fencing token and a lease) → run → complete (only with the token), or
 * release after an unexpected failure. For effects that cannot be one Lua script, such as a call
 * to another company's API, which gets `downstreamKey` for its own idempotency.
 */
export class LeasedIdempotency {
  private readonly notifier: CompletionNotifier;
  private readonly isFinalError: (error: unknown) => error is GraphQLError;

  constructor(private readonly options: LeasedIdempotencyOptions) {
    this.notifier = new CompletionNotifier(options.redis);
    this.isFinalError = options.isFinalError ?? defaultIsFinalError;
  }

  async execute<T>(call: LeasedCall, run: (execution: LeasedExecution) => Promise<T>, resourceIdOf: (value: T) => string | undefined = () => undefined): Promise<LeasedOutcome<T>> {
    const recordKey = idempotencyRecordKey(call.namespace, call.key);
    const channel = `${recordKey}:done`;
    const ttlMs = this.options.ttlSeconds * 1000;
    let deadline = Date.now() + this.options.waitMs;
    let listener: Awaited<ReturnType<CompletionNotifier['listen']>> | undefined;
    try {
      for (;;) {
        const claim = (await runScript(this.options.redis, 'claimIdempotencyKey', [recordKey, fencingCounterKey(call.namespace), legacyIdempotencyRecordKey(call.namespace, call.key)], [
          call.key,
          call.fingerprint,
          call.mutation,
          this.options.leaseMs,
          ttlMs,
        ])) as [number, ...unknown[]];
        switch (claim[0]) {
          case Claim.MISMATCH:
            throw new IdempotencyKeyReusedError(call.key);
          case Claim.COMPLETED:
            return replayOf<T>(claim.slice(1), 'REPLAYED');
          case Claim.IN_PROGRESS: {
            const remainingLeaseMs = Number(claim[1]);
            const left = deadline - Date.now();
            if (left <= 0) throw new IdempotencyRequestInProgressError(call.key, remainingLeaseMs);
            if (listener === undefined) {
              listener = await this.notifier.listen(channel);
              continue; // re-check now that a completion can no longer be missed
            }
            await listener.wait(Math.min(remainingLeaseMs + 5, left));
            continue;
          }
          case Claim.CLAIMED:
          case Claim.RECOVERED: {
            const token = Number(claim[1]);
            const status: FieldStatus = claim[0] === Claim.RECOVERED ? 'RECOVERED' : 'EXECUTED';
            const outcome = await this.runClaimed(call, recordKey, channel, token, status, ttlMs, run, resourceIdOf);
            if (outcome !== 'superseded') return outcome;
            // Fenced while a newer claim still runs: wait for it like a duplicate arriving now.
            // Our own run outlasted the lease, and often waitMs: the old deadline would be a 409.
            deadline = Date.now() + this.options.waitMs;
            continue;
          }
          default:
            throw new Error(`claim: unexpected reply ${String(claim[0])}`);
        }
      }
    } finally {
      listener?.close();
    }
  }

  private async runClaimed<T>(
    call: LeasedCall,
    recordKey: string,
    channel: string,
    token: number,
    status: FieldStatus,
    ttlMs: number,
    run: (execution: LeasedExecution) => Promise<T>,
    resourceIdOf: (value: T) => string | undefined,
  ): Promise<LeasedOutcome<T> | 'superseded'> {
    let outcome: LeasedOutcome<T>;
    let fields: (string | number)[];
    try {
      const value = await run({ token, downstreamKey: downstreamKey(call.namespace, call.key), recovered: status === 'RECOVERED' });
      outcome = { status, value };
      fields = ['SUCCEEDED', encodeResult(value), '', '', '', resourceIdOf(value) ?? ''];
    } catch (error) {
      if (!this.isFinalError(error)) {
        await runScript(this.options.redis, 'releaseIdempotencyKey', [recordKey], [token, channel]).catch(() => undefined);
        throw error;
      }
      const { code, ...extensions } = error.extensions;
      outcome = { status, error };
      fields = ['FAILED', '', String(code), error.message, JSON.stringify(extensions), ''];
    }
    const completed = (await runScript(this.options.redis, 'completeIdempotencyKey', [recordKey], [token, ...fields, ttlMs, channel])) as [number, ...unknown[]];
    switch (completed[0]) {
      case Complete.STORED:
        return outcome;
      case Complete.FENCED_COMPLETED:
        // A take-over completed first: answer with what is recorded, never with our own result.
        return replayOf<T>(completed.slice(1), 'REPLAYED');
      case Complete.FENCED_OPEN:
        return 'superseded';
      default:
        throw new Error(`complete: unexpected reply ${String(completed[0])}`);
    }
  }

  /** Closes the pub/sub connection. */
  close(): Promise<void> {
    return this.notifier.close();
  }
}
