/**
 * Every key of a tenant carries the hash tag `{t:<tenantId>}`, so all of one tenant's keys live in
 * one Redis Cluster slot and every Lua script touches a single slot.
 */
const ID_PATTERN = /^[a-z0-9]{1,64}$/;

export function assertSafeId(id: string, what: string): void {
  if (!ID_PATTERN.test(id)) throw new TypeError(`${what} must be 1-64 lower-case letters or digits, got "${id}"`);
}

export interface TenantKeys {
  readonly tag: string;
  /** hash: id, name, createdAt */
  readonly tenant: string;
  /** counter giving every account and transfer of the tenant its creation order */
  readonly sequence: string;
  /** hash: id, name, currency, balance, allowNegativeBalance, createdAt, seq */
  account(accountId: string): string;
  /** sorted set of account ids, scored by sequence */
  readonly accounts: string;
  /** hash: id, from, to, amount, currency, reference, createdAt, seq */
  transfer(transferId: string): string;
  /** sorted set of every transfer id of the tenant, scored by sequence */
  readonly transfers: string;
  /** sorted set of the transfer ids that touch one account, scored by sequence */
  accountTransfers(accountId: string): string;
  /** hash: id, name, hash, scopes, createdAt, lastUsedAt, revokedAt */
  apiKey(keyId: string): string;
  /** sorted set of the tenant's api key ids, scored by creation time */
  readonly apiKeys: string;
  /** string: GCRA state of the tenant's request rate */
  readonly requestRate: string;
  /** string: GCRA state of one key's own request rate */
  keyRequestRate(keyId: string): string;
  /** hash: the tenant's query-cost budget (available, updatedAt) */
  readonly costBudget: string;
  /** hash: the tenant's trusted documents, hex SHA-256 of the text → the text */
  readonly documents: string;
}

export function tenantKeys(tenantId: string, prefix = 'oq'): TenantKeys {
  assertSafeId(tenantId, 'tenant id');
  const tag = `${prefix}:{t:${tenantId}}`;
  return {
    tag,
    tenant: `${tag}:tenant`,
    sequence: `${tag}:seq`,
    account: (accountId) => `${tag}:account:${accountId}`,
    accounts: `${tag}:accounts`,
    transfer: (transferId) => `${tag}:transfer:${transferId}`,
    transfers: `${tag}:transfers`,
    accountTransfers: (accountId) => `${tag}:account:${accountId}:transfers`,
    apiKey: (keyId) => `${tag}:apikey:${keyId}`,
    apiKeys: `${tag}:apikeys`,
    requestRate: `${tag}:rate`,
    keyRequestRate: (keyId) => `${tag}:rate:key:${keyId}`,
    costBudget: `${tag}:cost`,
    documents: `${tag}:documents`,
  };
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** A new random id: 16 characters of lower-case base32, 80 bits from the system's CSPRNG. */
export function newId(randomBytes: (size: number) => Buffer): string {
  const bytes = randomBytes(10);
  let bits = 0;
  let value = 0;
  let id = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      id += ID_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return id;
}

/** True when a client-supplied id could name a record (anything else cannot exist). */
export function isWellFormedId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/**
 * The id to look a client-supplied id up as in a mutation script: itself when well-formed, else an
 * id no record can have. The script then finds nothing and records NOT_FOUND, as for any unknown
 * id, and no key is ever built from arbitrary client text (`x:transfers` would name another key).
 */
export function lookupId(id: string): string {
  return isWellFormedId(id) ? id : '-';
}
