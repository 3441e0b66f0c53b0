import path from 'node:path';
import { GraphQLError } from 'graphql';
import { arrayReply, CLOCK_LUA, defineScript, integerReply, readLua, ScriptReplyError } from '@onceql/redis-script';
import type { ScriptClient } from '@onceql/redis-script';
import type { FieldStatus } from './atomic';
import { decodeResult, encodeResult } from './codec';
import { IdempotencyKeyReusedError, IdempotencyRequestInProgressError } from './errors';
import { downstreamKey, fencingCounterKey, idempotencyRecordKey, legacyIdempotencyRecordKey } from './key';

export interface LeasedIdempotencyOptions {
  /** A Redis connection or a Redis Cluster (ioredis). */
  readonly redis: ScriptClient;
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

/** Replies of lua/claim.lua, shared with it as constants. */
export const ClaimStatus = { CLAIMED: 1, RECOVERED: 2, COMPLETED: 3, IN_PROGRESS: 4, MISMATCH: 5 } as const;
/** Replies of lua/complete.lua. */
export const CompleteStatus = { STORED: 1, FENCED_COMPLETED: 2, FENCED_OPEN: 3 } as const;
/** Replies of lua/release.lua. */
export const ReleaseStatus = { NOT_OURS: 0, RELEASED: 1 } as const;

const lua = (name: string) => readLua(path.join(__dirname, '..', 'lua', name));

/** A recorded outcome as claim and complete return it: outcome, result, errorCode, errorMessage, errorExtensions. */
type RecordedFields = readonly [string, string, string, string, string];

function recordedFields(script: string, fields: unknown[]): RecordedFields {
  if (fields.length < 5) throw new ScriptReplyError(script, 'wanted a recorded outcome of 5 fields');
  const [outcome, result, errorCode, errorMessage, errorExtensions] = fields.map(String) as [string, string, string, string, string];
  return [outcome, result, errorCode, errorMessage, errorExtensions];
}

type ClaimReply =
  | { readonly status: typeof ClaimStatus.CLAIMED | typeof ClaimStatus.RECOVERED; readonly token: number }
  | { readonly status: typeof ClaimStatus.COMPLETED; readonly recorded: RecordedFields }
  | { readonly status: typeof ClaimStatus.IN_PROGRESS; readonly remainingLeaseMs: number }
  | { readonly status: typeof ClaimStatus.MISMATCH };

export const claimScript = defineScript({
  name: 'claimIdempotencyKey',
  source: [CLOCK_LUA, lua('claim.lua')],
  keys: ['record', 'fencingCounter', 'legacyRecord'],
  args: ['key', 'fingerprint', 'mutation', 'leaseMs', 'ttlMs'],
  constants: ClaimStatus,
  decode: (reply): ClaimReply => {
    const [status, ...rest] = arrayReply('claimIdempotencyKey', reply, 1);
    const code = integerReply('claimIdempotencyKey', status);
    switch (code) {
      case ClaimStatus.CLAIMED:
      case ClaimStatus.RECOVERED:
        return { status: code, token: integerReply('claimIdempotencyKey', rest[0]) };
      case ClaimStatus.COMPLETED:
        return { status: code, recorded: recordedFields('claimIdempotencyKey', rest) };
      case ClaimStatus.IN_PROGRESS:
        return { status: code, remainingLeaseMs: integerReply('claimIdempotencyKey', rest[0]) };
      case ClaimStatus.MISMATCH:
        return { status: code };
      default:
        throw new ScriptReplyError('claimIdempotencyKey', `unknown status ${code}`);
    }
  },
});

type CompleteReply =
  | { readonly status: typeof CompleteStatus.STORED | typeof CompleteStatus.FENCED_OPEN }
  | { readonly status: typeof CompleteStatus.FENCED_COMPLETED; readonly recorded: RecordedFields };

export const completeScript = defineScript({
  name: 'completeIdempotencyKey',
  source: [CLOCK_LUA, lua('complete.lua')],
  keys: ['record'],
  args: ['token', 'outcome', 'result', 'errorCode', 'errorMessage', 'errorExtensions', 'resourceId', 'ttlMs', 'channel'],
  constants: CompleteStatus,
  decode: (reply): CompleteReply => {
    const [status, ...rest] = arrayReply('completeIdempotencyKey', reply, 1);
    const code = integerReply('completeIdempotencyKey', status);
    switch (code) {
      case CompleteStatus.STORED:
      case CompleteStatus.FENCED_OPEN:
        return { status: code };
      case CompleteStatus.FENCED_COMPLETED:
        return { status: code, recorded: recordedFields('completeIdempotencyKey', rest) };
      default:
        throw new ScriptReplyError('completeIdempotencyKey', `unknown status ${code}`);
    }
  },
});

export const releaseScript = defineScript({
  name: 'releaseIdempotencyKey',
  source: lua('release.lua'),
  keys: ['record'],
  args: ['token', 'channel'],
  constants: ReleaseStatus,
  decode: (reply) => integerReply('releaseIdempotencyKey', reply) === ReleaseStatus.RELEASED,
});

/** The scripts of the leased path (to load them ahead, or to list them with an app's others). */
export const LEASED_SCRIPTS = [claimScript, completeScript, releaseScript] as const;

/** Resolves once a connection is ready, or rejects after `timeoutMs`. */
function ready(client: ScriptClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`Redis was not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    client.once('ready', onReady);
  });
}

function assertNever(value: never): never {
  throw new Error(`unexpected script reply ${JSON.stringify(value)}`);
}

function defaultIsFinalError(error: unknown): error is GraphQLError {
  const code = error instanceof GraphQLError ? error.extensions.code : undefined;
  return typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR' && code !== 'SERVICE_UNAVAILABLE';
}

/** The replay of a recorded outcome: the value, or the same error (code, message, extensions). */
function replayOf<T>([outcome, result, errorCode, errorMessage, errorExtensions]: RecordedFields, status: FieldStatus): LeasedOutcome<T> {
  if (outcome === 'SUCCEEDED') return { status, value: decodeResult(result === '' ? 'null' : result) as T };
  const extensions = errorExtensions ? (JSON.parse(errorExtensions) as Record<string, unknown>) : {};
  return { status, error: new GraphQLError(errorMessage === '' ? 'The recorded execution failed.' : errorMessage, { extensions: { ...extensions, code: errorCode } }) };
}

/**
 * Tells waiting duplicates that a key completed or was released, over Redis pub/sub, so that they
 * wait on a message instead of polling. One subscriber connection per process, made on first use.
 */
class CompletionNotifier {
  private subscriber: Promise<ScriptClient> | undefined;
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(private readonly redis: ScriptClient) {}

  private connect(): Promise<ScriptClient> {
    this.subscriber ??= (async () => {
      const subscriber = this.redis.duplicate();
      subscriber.on('error', () => undefined);
      subscriber.on('message', (channel: string) => {
        for (const wake of this.waiters.get(channel) ?? []) wake();
      });
      await ready(subscriber, 2_000);
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
    let subscriber: ScriptClient | undefined;
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
        const claim = await claimScript.run(
          this.options.redis,
          { record: recordKey, fencingCounter: fencingCounterKey(call.namespace), legacyRecord: legacyIdempotencyRecordKey(call.namespace, call.key) },
          { key: call.key, fingerprint: call.fingerprint, mutation: call.mutation, leaseMs: this.options.leaseMs, ttlMs },
        );
        switch (claim.status) {
          case ClaimStatus.MISMATCH:
            throw new IdempotencyKeyReusedError(call.key);
          case ClaimStatus.COMPLETED:
            return replayOf<T>(claim.recorded, 'REPLAYED');
          case ClaimStatus.IN_PROGRESS: {
            const left = deadline - Date.now();
            if (left <= 0) throw new IdempotencyRequestInProgressError(call.key, claim.remainingLeaseMs);
            if (listener === undefined) {
              listener = await this.notifier.listen(channel);
              continue; // re-check now that a completion can no longer be missed
            }
            await listener.wait(Math.min(claim.remainingLeaseMs + 5, left));
            continue;
          }
          case ClaimStatus.CLAIMED:
          case ClaimStatus.RECOVERED: {
            const status: FieldStatus = claim.status === ClaimStatus.RECOVERED ? 'RECOVERED' : 'EXECUTED';
            const outcome = await this.runClaimed(call, recordKey, channel, claim.token, status, ttlMs, run, resourceIdOf);
            if (outcome !== 'superseded') return outcome;
            // Fenced while a newer claim still runs: wait for it like a duplicate arriving now.
            // Our own run outlasted the lease, and often waitMs: the old deadline would be a 409.
            deadline = Date.now() + this.options.waitMs;
            continue;
          }
          default:
            return assertNever(claim);
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
    let fields: { outcome: string; result: string; errorCode: string; errorMessage: string; errorExtensions: string; resourceId: string };
    try {
      const value = await run({ token, downstreamKey: downstreamKey(call.namespace, call.key), recovered: status === 'RECOVERED' });
      outcome = { status, value };
      fields = { outcome: 'SUCCEEDED', result: encodeResult(value), errorCode: '', errorMessage: '', errorExtensions: '', resourceId: resourceIdOf(value) ?? '' };
    } catch (error) {
      if (!this.isFinalError(error)) {
        await releaseScript.run(this.options.redis, { record: recordKey }, { token, channel }).catch(() => undefined);
        throw error;
      }
      const { code, ...extensions } = error.extensions;
      outcome = { status, error };
      fields = { outcome: 'FAILED', result: '', errorCode: String(code), errorMessage: error.message, errorExtensions: JSON.stringify(extensions), resourceId: '' };
    }
    const completed = await completeScript.run(this.options.redis, { record: recordKey }, { token, ...fields, ttlMs, channel });
    switch (completed.status) {
      case CompleteStatus.STORED:
        return outcome;
      case CompleteStatus.FENCED_COMPLETED:
        // A take-over completed first: answer with what is recorded, never with our own result.
        return replayOf<T>(completed.recorded, 'REPLAYED');
      case CompleteStatus.FENCED_OPEN:
        return 'superseded';
      default:
        return assertNever(completed);
    }
  }

  /** Closes the pub/sub connection. */
  close(): Promise<void> {
    return this.notifier.close();
  }
}
