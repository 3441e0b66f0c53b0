import type { ScriptClient } from '@onceql/redis-script';
import { RecordFormat } from './atomic';
import { idempotencyRecordKey, legacyIdempotencyRecordKey } from './key';

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

/**
 * A v3 or v2 record (see lua/atomic.lua): "3" or "2", the fingerprint's length and bytes, five
 * header fields each ended by a newline, then the packed reply (which a look-up does not need).
 */
function decodePacked(key: string, packed: Buffer, expiresAtMs: number): IdempotencyRecordView | null {
  if (packed.length < 2 || (packed[0] !== RecordFormat.RECORD_V3 && packed[0] !== RecordFormat.RECORD_V2)) return null;
  let at = 2 + (packed[1] ?? 0);
  const fields: string[] = [];
  for (let i = 0; i < 5; i++) {
    const newline = packed.indexOf(0x0a, at);
    if (newline < 0) return null;
    fields.push(packed.toString('utf8', at, newline));
    at = newline + 1;
  }
  const [mutation = '', createdAtMs = '', errorCode = '', resourceId = '', replayCount = '0'] = fields;
  const createdAt = date(createdAtMs) ?? new Date(0);
  return {
    key,
    status: 'COMPLETED',
    mutation,
    createdAt,
    completedAt: createdAt,
    expiresAt: new Date(expiresAtMs),
    outcome: errorCode === '' ? 'SUCCEEDED' : 'FAILED',
    errorCode: errorCode === '' ? null : errorCode,
    resourceId: resourceId === '' ? null : resourceId,
    replayCount: Number(replayCount),
  };
}

/** Reads the record of a key in a namespace; null when the key was never used or has expired. */
export async function readIdempotencyRecord(redis: ScriptClient, namespace: string, key: string): Promise<IdempotencyRecordView | null> {
  let recordKey = idempotencyRecordKey(namespace, key);
  let type = await redis.type(recordKey);
  if (type === 'none') {
    // Recorded by a version before the compact name (see legacyIdempotencyRecordKey).
    recordKey = legacyIdempotencyRecordKey(namespace, key);
    type = await redis.type(recordKey);
  }
  if (type === 'string') {
    // The record expires when its outcome stops being replayed (PXAT, see atomic.lua).
    const [packed, expiresAtMs] = await Promise.all([redis.getBuffer(recordKey), redis.call('PEXPIRETIME', recordKey) as Promise<number>]);
    return packed === null || expiresAtMs < 0 ? null : decodePacked(key, packed, Number(expiresAtMs));
  }
  if (type !== 'hash') return null;
  // v1: records written before v2, and the leased path's.
  const hash = await redis.hgetall(recordKey);
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
