import type { RedisClient } from '../redis/client';
import { idempotencyRecordKey } from './key';

/** What `idempotencyRecord(key)` tells a client about one of its keys. */
export interface IdempotencyRecordView {
  readonly key: string;
  readonly status: 'IN_PROGRESS' | 'COMPLETED';
  readonly mutation: string;
  readonly createdAt: Date;
  readonly completedAt: Date | null;
  readonly expiresAt: Date;
  readonly outcome: 'SUCCEEDED' | 'FAILED' | null;
  readonly errorCode: string | null;
  readonly resourceId: string | null;
  readonly replayCount: number;
}

function date(ms: string | undefined): Date | null {
  return ms === undefined || ms === '' ? null : new Date(Number(ms));
}

/** Reads the record of a key in a namespace; null when the key was never used or has expired. */
export async function readIdempotencyRecord(redis: RedisClient, namespace: string, key: string): Promise<IdempotencyRecordView | null> {
  const hash = await redis.hgetall(idempotencyRecordKey(namespace, key));
  if (hash.fingerprint === undefined || hash.key !== key) return null;
  return {
    key,
    status: hash.status === 'COMPLETED' ? 'COMPLETED' : 'IN_PROGRESS',
    mutation: hash.mutation ?? '',
    createdAt: date(hash.createdAt) ?? new Date(0),
    completedAt: date(hash.completedAt),
    expiresAt: date(hash.expiresAt) ?? new Date(0),
    outcome: hash.outcome === 'SUCCEEDED' || hash.outcome === 'FAILED' ? hash.outcome : null,
    errorCode: hash.errorCode ? hash.errorCode : null,
    resourceId: hash.resourceId ? hash.resourceId : null,
    replayCount: Number(hash.replayCount ?? 0),
  };
}
