import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Api keys look like `oq_<tenantId>_<keyId>_<secret>`:
 * - `oq_` lets secret scanners recognise a leaked onceql key;
 * - tenant and key id let the server find the stored record with one read (no scan, no index);
 * - the secret is 32 bytes (256 bits) from the system CSPRNG, base64url.
 * Only the SHA-256 of the whole key is stored. A fast hash is right here: the secret has 256 bits
 * of entropy, so there is nothing for a slow password hash to protect against.
 */
export const API_KEY_PREFIX = 'oq_';
const SECRET_BYTES = 32;
const API_KEY_PATTERN = /^oq_([a-z0-9]{1,64})_([a-z0-9]{1,64})_([A-Za-z0-9_-]{43})$/;

export type Scope = 'read' | 'write' | 'admin';
export const ALL_SCOPES: readonly Scope[] = ['read', 'write', 'admin'];

export interface ParsedApiKey {
  readonly tenantId: string;
  readonly keyId: string;
  /** `oq_<tenantId>_<keyId>`: identifies the key in listings and logs, useless without the secret. */
  readonly prefix: string;
}

export function formatApiKey(tenantId: string, keyId: string, random: (size: number) => Buffer = randomBytes): string {
  return `${API_KEY_PREFIX}${tenantId}_${keyId}_${random(SECRET_BYTES).toString('base64url')}`;
}

/** Splits a presented key into its public parts; null when it cannot be an onceql key. */
export function parseApiKey(key: string): ParsedApiKey | null {
  const match = API_KEY_PATTERN.exec(key);
  if (match === null) return null;
  const [, tenantId = '', keyId = ''] = match;
  return { tenantId, keyId, prefix: `${API_KEY_PREFIX}${tenantId}_${keyId}` };
}

/** Hex SHA-256 of the whole key: what Redis stores instead of the key. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Compares a presented key with a stored hash in time independent of where they differ.
 * `presentedHash`: the key's {@link hashApiKey}, when the caller has it already.
 */
export function apiKeyMatches(key: string, storedHash: string, presentedHash = hashApiKey(key)): boolean {
  const presented = Buffer.from(presentedHash, 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return stored.length === presented.length && timingSafeEqual(presented, stored);
}

/** Reads the key from `api-key`, else from `Authorization: Bearer`; `api-key` wins when both are sent. */
export function apiKeyFromHeaders(header: (name: string) => string | undefined): string | null {
  const direct = header('api-key')?.trim();
  if (direct) return direct;
  const authorization = header('authorization')?.trim();
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (match?.[1]) return match[1];
  }
  return null;
}
