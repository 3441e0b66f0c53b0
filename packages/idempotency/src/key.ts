import { createHash } from 'node:crypto';
import { IdempotencyKeyInvalidError } from './errors';

export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;

/** Keys are 1-255 visible ASCII characters (0x21-0x7E). Throws IDEMPOTENCY_KEY_INVALID otherwise. */
export function validateIdempotencyKey(key: unknown): string {
  if (typeof key !== 'string') throw new IdempotencyKeyInvalidError('it must be a string');
  if (key.length === 0) throw new IdempotencyKeyInvalidError('it is empty');
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) throw new IdempotencyKeyInvalidError(`it is longer than ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  if (!VISIBLE_ASCII.test(key)) throw new IdempotencyKeyInvalidError('it contains a character outside visible ASCII (0x21-0x7E)');
  return key;
}

/**
 * Where a key's record lives: `<namespace>:i:<first 16 bytes of sha256(key), base64url>`. The
 * namespace carries the caller's hash tag (onceql: `oq:{t:<tenantId>}`), so the record shares a
 * Redis Cluster slot with the data the mutation writes; hashing keeps any visible-ASCII key, braces
 * included, out of the key name (128 bits: keys of one namespace never meet by chance).
 */
export function idempotencyRecordKey(namespace: string, key: string): string {
  return `${namespace}:i:${createHash('sha256').update(key).digest().subarray(0, 16).toString('base64url')}`;
}

/**
 * Where records were kept before the compact name, `<namespace>:idem:<sha256(key) in hex>`: the
 * atomic scripts still look there, so a retry of a key recorded by an earlier version replays.
 */
export function legacyIdempotencyRecordKey(namespace: string, key: string): string {
  return `${namespace}:idem:${createHash('sha256').update(key).digest('hex')}`;
}

/** The counter that hands out fencing tokens in a namespace; it only ever grows. */
export function fencingCounterKey(namespace: string): string {
  return `${namespace}:idem-fence`;
}

/**
 * A stable key for the other system's own idempotency, derived from (namespace, key): the same
 * for every execution of one key, different across tenants, and not revealing the client's key.
 */
export function downstreamKey(namespace: string, key: string): string {
  return createHash('sha256').update(`onceql-downstream\0${namespace}\0${key}`).digest('hex');
}
