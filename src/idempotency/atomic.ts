import { IdempotencyKeyReusedError, IdempotencyRequestInProgressError } from './errors';

/** Status codes at the head of every atomic-path script reply (see scripts/atomic.lua). */
export const AtomicStatus = {
  NONE: 0,
  EXECUTED: 1,
  REPLAYED: 2,
  MISMATCH: 3,
  IN_PROGRESS: 4,
} as const;
type AtomicStatus = (typeof AtomicStatus)[keyof typeof AtomicStatus];

export type FieldStatus = 'EXECUTED' | 'REPLAYED' | 'RECOVERED';

/**
 * What a domain store needs to run one mutation on the atomic path: the record key to put first
 * in KEYS and the record's name before v2 to put last, the four ARGV that go first, and a way to
 * say whether the script executed or replayed.
 */
export interface AtomicIdempotency {
  readonly recordKey: string;
  readonly legacyRecordKey: string;
  readonly scriptArgs: readonly [key: string, fingerprint: string, mutation: string, ttlMs: string];
  /** Called by the store with the envelope status of the script's reply. */
  settle(status: FieldStatus): void;
}

/** For a mutation without a key: the script executes and records nothing. */
export function withoutIdempotency(namespace: string): AtomicIdempotency {
  return { recordKey: `${namespace}:i:-`, legacyRecordKey: `${namespace}:idem:-`, scriptArgs: ['', '', '', '0'], settle: () => undefined };
}

/** True when the mutation carries a key: a retry with it replays instead of running again. */
export function hasIdempotencyKey(idempotency: AtomicIdempotency): boolean {
  return idempotency.scriptArgs[1] !== '';
}

/**
 * Opens the envelope `{status, ...domainReply}` of an atomic-path script: returns the domain reply
 * (the recorded one on a replay), or throws IDEMPOTENCY_KEY_REUSED / IN_PROGRESS.
 */
export function openAtomicReply(reply: unknown, idempotency: AtomicIdempotency): unknown[] {
  if (!Array.isArray(reply) || reply.length === 0) throw new Error('atomic script: unexpected reply');
  const [status, ...domain] = reply as [AtomicStatus, ...unknown[]];
  switch (status) {
    case AtomicStatus.NONE:
      return domain;
    case AtomicStatus.EXECUTED:
      idempotency.settle('EXECUTED');
      return domain;
    case AtomicStatus.REPLAYED:
      idempotency.settle('REPLAYED');
      return domain;
    case AtomicStatus.MISMATCH:
      throw new IdempotencyKeyReusedError(idempotency.scriptArgs[0]);
    case AtomicStatus.IN_PROGRESS:
      throw new IdempotencyRequestInProgressError(idempotency.scriptArgs[0], 1000);
    default:
      throw new Error(`atomic script: unknown idempotency status ${String(status)}`);
  }
}
