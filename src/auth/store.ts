import { createHash, randomBytes } from 'node:crypto';
import { hasIdempotencyKey, withoutIdempotency } from '@onceql/idempotency';
import type { AtomicIdempotency } from '@onceql/idempotency';
import type { RedisClient } from '../redis/client';
import { sendWrite } from '../redis/client';
import { lookupId, newId, tenantKeys } from '../redis/keys';
import { loadHashes } from '../redis/scripts';
import { ALL_SCOPES, apiKeyMatches, formatApiKey, hashApiKey, parseApiKey } from './api-key';
import type { Scope } from './api-key';
import { ApiKeyScriptStatus, createApiKeyScript, revokeApiKeyScript } from './api-key-scripts';
import { ApiKeyNotFoundError, AuthInputError } from './errors';
import { addressKey, allowlistRanges, InvalidCidrError, ipToHex, parseAllowlist } from './ip';
import { ADMIT_STATUS, admitScript, createTenantScript, recordAuthFailureScript } from './scripts';
import { textProblem } from '../text';

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly createdAt: Date;
}

/** An api key as listings show it: never the secret, never its hash. */
export interface ApiKeyRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly name: string;
  readonly prefix: string;
  readonly scopes: readonly Scope[];
  readonly ipAllowlist: readonly string[];
  /** The key's own request rate, or null for the tenant's. */
  readonly rateLimitPerSecond: number | null;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
  readonly revokedAt: Date | null;
  /** A publishable key (for browsers) runs only the tenant's trusted documents. Absent: a secret key. */
  readonly publishable?: boolean;
}

/** Who is calling: the result of authenticating a request's key. */
export type Principal = ApiKeyRecord;

export interface NewApiKey {
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly ipAllowlist?: readonly string[];
  readonly rateLimitPerSecond?: number | null;
  /** A publishable key: runs only the operations registered for its tenant. Default false. */
  readonly publishable?: boolean;
}

export interface CreatedApiKey {
  readonly apiKey: ApiKeyRecord;
  /** The plaintext key: returned once, never stored; null on a replay. */
  readonly secret: string | null;
}

export interface AdmitRequest {
  /** False: authenticate only (the request is refused before the limits, e.g. too complex). */
  readonly charge: boolean;
  readonly cost: number;
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly costBudget: number;
  readonly costRestorePerSecond: number;
}

export type AdmitResult =
  | { readonly status: 'unauthenticated' }
  | { readonly status: 'forbiddenIp'; readonly principal: Principal }
  | {
      readonly status: 'admitted' | 'rateLimited' | 'costThrottled';
      readonly principal: Principal;
      readonly ratePerSecond: number;
      readonly remaining: number;
      readonly resetMs: number;
      readonly costAvailable: number;
      readonly retryAfterMs: number;
    };

export interface AuthFailureDecision {
  readonly throttled: boolean;
  readonly retryAfterMs: number;
}

const MAX_NAME_LENGTH = 200;
const MAX_ALLOWLIST_ENTRIES = 100;
/**
 * Keys a tenant may hold, revoked ones included: `apiKeys` lists them all in one answer, and its
 * `@listSize(assumedSize:)` is this number, so its price stays an upper bound.
 */
export const MAX_API_KEYS_PER_TENANT = 100;

function assertName(name: string, what: string): void {
  if (name.trim().length === 0 || name.length > MAX_NAME_LENGTH) {
    throw new AuthInputError('name', `The ${what} name must be 1-${MAX_NAME_LENGTH} characters and not blank.`);
  }
  // Stored as acknowledged, or refused: see src/text.ts.
  const problem = textProblem(name);
  if (problem !== null) throw new AuthInputError('name', `The ${what} name ${problem}; send well-formed text without control characters.`);
}

function list(text: string | undefined): string[] {
  return (text ?? '').split(',').filter((item) => item !== '');
}

function date(ms: string | undefined): Date | null {
  return ms === undefined || ms === '' ? null : new Date(Number(ms));
}

function toApiKey(tenantId: string, hash: Record<string, string>): ApiKeyRecord {
  return {
    id: hash.id ?? '',
    tenantId,
    name: hash.name ?? '',
    prefix: hash.prefix ?? '',
    scopes: list(hash.scopes).filter((scope): scope is Scope => (ALL_SCOPES as readonly string[]).includes(scope)),
    ipAllowlist: list(hash.ipAllowlist),
    rateLimitPerSecond: hash.rateLimitPerSecond ? Number(hash.rateLimitPerSecond) : null,
    createdAt: date(hash.createdAt) ?? new Date(0),
    lastUsedAt: date(hash.lastUsedAt),
    revokedAt: date(hash.revokedAt),
    ...(hash.kind === 'publishable' ? { publishable: true } : {}),
  };
}

/** Checks that need no stored data: name, scopes, allowlist, rate. */
export function validateNewApiKey(input: NewApiKey): { scopes: Scope[]; ipAllowlist: string[]; rateLimitPerSecond: number | null } {
  assertName(input.name, 'api key');
  const scopes = [...new Set(input.scopes)].sort((a, b) => ALL_SCOPES.indexOf(a) - ALL_SCOPES.indexOf(b));
  if (scopes.length === 0) throw new AuthInputError('scopes', 'An api key needs at least one scope: READ, WRITE or ADMIN.');
  const entries = input.ipAllowlist ?? [];
  if (entries.length > MAX_ALLOWLIST_ENTRIES) throw new AuthInputError('ipAllowlist', `At most ${MAX_ALLOWLIST_ENTRIES} allowlist entries.`);
  let ipAllowlist: string[];
  try {
    ipAllowlist = parseAllowlist(entries);
  } catch (error) {
    if (error instanceof InvalidCidrError) throw new AuthInputError('ipAllowlist', error.message);
    throw error;
  }
  const rate = input.rateLimitPerSecond ?? null;
  if (rate !== null && (!Number.isInteger(rate) || rate < 1 || rate > 1_000_000)) {
    throw new AuthInputError('rateLimitPerSecond', 'rateLimitPerSecond must be a whole number from 1 to 1000000.');
  }
  return { scopes, ipAllowlist, rateLimitPerSecond: rate };
}

export class AuthStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly random: (size: number) => Buffer = randomBytes,
  ) {}

  async createTenant(name: string): Promise<Tenant> {
    return (await this.createTenantWithKey(name, null)).tenant;
  }

  /**
   * Creates a tenant and, with `firstKey`, its first api key in the same script: a crash cannot
   * leave a tenant that no key reaches. The key's secret is returned here only.
   */
  async createTenantWithKey(name: string, firstKey: NewApiKey | null): Promise<{ tenant: Tenant; apiKey: CreatedApiKey | null }> {
    assertName(name, 'tenant');
    const checked = firstKey === null ? null : validateNewApiKey(firstKey);
    for (;;) {
      const id = newId(this.random);
      const keyId = newId(this.random);
      const keys = tenantKeys(id);
      const secret = formatApiKey(id, keyId, this.random);
      const prefix = parseApiKey(secret)?.prefix;
      if (prefix === undefined) throw new Error('formatApiKey produced a key parseApiKey rejects');
      // A tenant without a key: every key argument "" (the script writes the tenant only).
      const keyArgs =
        firstKey === null || checked === null
          ? { keyId: '', keyName: '', prefix: '', hash: '', scopes: '', ipAllowlist: '', ipRanges: '', rateLimitPerSecond: '' }
          : {
              keyId,
              keyName: firstKey.name,
              prefix,
              hash: hashApiKey(secret),
              scopes: checked.scopes.join(','),
              ipAllowlist: checked.ipAllowlist.join(','),
              ipRanges: allowlistRanges(checked.ipAllowlist),
              rateLimitPerSecond: checked.rateLimitPerSecond === null ? '' : String(checked.rateLimitPerSecond),
            };
      const created = await sendWrite('create_tenant', false, () => createTenantScript.run(this.redis, { tenant: keys.tenant, apiKey: keys.apiKey(keyId), apiKeys: keys.apiKeys }, { tenantId: id, name, ...keyArgs }));
      if (!created.created) continue; // an 80-bit id collided: draw another
      const createdAt = new Date(created.createdAtMs);
      const tenant = { id, name, createdAt };
      if (firstKey === null || checked === null) return { tenant, apiKey: null };
      const apiKey: ApiKeyRecord = { id: keyId, tenantId: id, name: firstKey.name, prefix, ...checked, createdAt, lastUsedAt: null, revokedAt: null };
      return { tenant, apiKey: { apiKey, secret } };
    }
  }

  async getTenant(tenantId: string): Promise<Tenant | null> {
    const hash = await this.redis.hgetall(tenantKeys(tenantId).tenant);
    if (hash.id === undefined) return null;
    return { id: hash.id, name: hash.name ?? '', createdAt: new Date(Number(hash.createdAt)) };
  }

  /**
   * Creates a key and returns its secret once. With an idempotency call, a retry of the same key
   * returns the same api key with `secret: null`: the secret was never stored.
   */
  async createApiKey(tenantId: string, input: NewApiKey, idempotency: AtomicIdempotency = withoutIdempotency(tenantKeys(tenantId).tag)): Promise<CreatedApiKey> {
    const { scopes, ipAllowlist, rateLimitPerSecond } = validateNewApiKey(input);
    const keys = tenantKeys(tenantId);
    for (;;) {
      const keyId = newId(this.random);
      const secret = formatApiKey(tenantId, keyId, this.random);
      const prefix = parseApiKey(secret)?.prefix;
      if (prefix === undefined) throw new Error('formatApiKey produced a key parseApiKey rejects');
      const created = await sendWrite('create_api_key', hasIdempotencyKey(idempotency), () =>
        createApiKeyScript.run(this.redis, idempotency, { tenant: keys.tenant, apiKey: keys.apiKey(keyId), apiKeys: keys.apiKeys }, {
          keyId,
          name: input.name,
          prefix,
          hash: hashApiKey(secret),
          scopes: scopes.join(','),
          ipAllowlist: ipAllowlist.join(','),
          ipRanges: allowlistRanges(ipAllowlist),
          rateLimitPerSecond: rateLimitPerSecond === null ? '' : String(rateLimitPerSecond),
          kind: input.publishable === true ? 'publishable' : '',
          maxKeys: String(MAX_API_KEYS_PER_TENANT),
        }),
      );
      if (created.status !== ApiKeyScriptStatus.CREATED) {
        if (created.status === ApiKeyScriptStatus.ID_TAKEN) continue; // an 80-bit id collided: draw another
        if (created.status === ApiKeyScriptStatus.NO_TENANT) throw new Error(`tenant ${tenantId} does not exist`);
        throw new AuthInputError('apiKeys', `A tenant holds at most ${MAX_API_KEYS_PER_TENANT} api keys, revoked ones included, and this one has that many: no more keys can be created.`);
      }
      const { id } = created;
      if (created.replayed) {
        // The key as it is stored now (revoked since, perhaps), never rebuilt from the retry's input.
        const [stored] = await this.loadApiKeys(tenantId, [id]);
        if (!stored) throw new Error(`api key ${id} of a recorded createApiKey is gone`);
        return { apiKey: stored, secret: null };
      }
      return {
        apiKey: {
          id,
          tenantId,
          name: input.name,
          prefix: `oq_${tenantId}_${id}`,
          scopes,
          ipAllowlist,
          rateLimitPerSecond,
          createdAt: new Date(created.createdAtMs),
          lastUsedAt: null,
          revokedAt: null,
          ...(input.publishable === true ? { publishable: true } : {}),
        },
        secret,
      };
    }
  }

  /** Revokes a key of the tenant; revoking twice keeps the first time. */
  async revokeApiKey(tenantId: string, keyId: string, idempotency: AtomicIdempotency = withoutIdempotency(tenantKeys(tenantId).tag)): Promise<ApiKeyRecord> {
    const keys = tenantKeys(tenantId);
    // A malformed id is looked up as one no key has: the script records NOT_FOUND, as for any unknown id.
    const hash = await sendWrite('revoke_api_key', hasIdempotencyKey(idempotency), () =>
      revokeApiKeyScript.run(this.redis, idempotency, { apiKey: keys.apiKey(lookupId(keyId)) }, {}),
    );
    // The key as the script left it: no second read that could fail after the revocation committed.
    if (hash === null) throw new ApiKeyNotFoundError(keyId);
    return toApiKey(tenantId, hash);
  }

  async loadApiKeys(tenantId: string, keyIds: readonly string[]): Promise<(ApiKeyRecord | null)[]> {
    const keys = tenantKeys(tenantId);
    const hashes = await loadHashes(this.redis, keyIds.map((id) => keys.apiKey(id)));
    return hashes.map((hash) => (hash === null ? null : toApiKey(tenantId, hash)));
  }

  /**
   * Registers trusted documents for the tenant (the persisted-documents manifest of codegen's
   * client preset: hex SHA-256 of each document's text → the text). Every hash is checked against
   * its text first; nothing is written unless all match. Registering again is harmless.
   */
  async registerDocuments(tenantId: string, documents: ReadonlyMap<string, string>): Promise<number> {
    for (const [hash, text] of documents) {
      if (!/^[0-9a-f]{64}$/.test(hash) || createHash('sha256').update(text, 'utf8').digest('hex') !== hash) {
        throw new AuthInputError('documents', `The document registered as ${hash.slice(0, 64)} does not have that SHA-256: register the manifest as codegen wrote it.`);
      }
    }
    if ((await this.getTenant(tenantId)) === null) throw new AuthInputError('tenant', `There is no tenant ${tenantId}.`);
    if (documents.size > 0) await this.redis.hset(tenantKeys(tenantId).documents, Object.fromEntries(documents));
    return documents.size;
  }

  /** The text of a trusted document of the tenant, by the hex SHA-256 of its text; null when not registered. */
  async findDocument(tenantId: string, sha256Hash: string): Promise<string | null> {
    return this.redis.hget(tenantKeys(tenantId).documents, sha256Hash);
  }

  /** Every key of the tenant, oldest first, revoked ones included. */
  async listApiKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    const ids = await this.redis.zrange(tenantKeys(tenantId).apiKeys, 0, -1);
    return (await this.loadApiKeys(tenantId, ids)).filter((key): key is ApiKeyRecord => key !== null);
  }

  /**
   * The principal a presented key stands for, or null for a malformed, unknown or revoked key.
   * One Redis read; the hash comparison is constant-time. Requests go through `admit` instead,
   * which also refreshes lastUsedAt; this plain check is for start-up (the dev key).
   */
  async authenticate(apiKey: string): Promise<Principal | null> {
    const parsed = parseApiKey(apiKey);
    if (parsed === null) return null;
    const hash = await this.redis.hgetall(tenantKeys(parsed.tenantId).apiKey(parsed.keyId));
    if (hash.hash === undefined || !apiKeyMatches(apiKey, hash.hash) || hash.revokedAt !== undefined) return null;
    return toApiKey(parsed.tenantId, hash);
  }

  /**
   * The admit step, one round trip: authenticate the key, check the address against its allowlist,
   * take one request from the rate limit and `cost` points from the tenant's budget (or, with
   * `charge` false, only authenticate and report the limits). The hash is compared again here in
   * constant time; the script's comparison only decides what it may charge.
   */
  async admit(apiKey: string, ip: string, request: AdmitRequest): Promise<AdmitResult> {
    const parsed = parseApiKey(apiKey);
    if (parsed === null) return { status: 'unauthenticated' };
    const keys = tenantKeys(parsed.tenantId);
    const keyHash = hashApiKey(apiKey);
    const reply = await admitScript.run(
      this.redis,
      { apiKey: keys.apiKey(parsed.keyId), tenantRate: keys.requestRate, keyRate: keys.keyRequestRate(parsed.keyId), tenantCost: keys.costBudget },
      {
        keyHash,
        clientIp: ipToHex(ip),
        charge: request.charge ? '1' : '0',
        ratePerSecond: request.ratePerSecond,
        burst: request.burst,
        cost: request.cost,
        costBudget: request.costBudget,
        costRestore: request.costRestorePerSecond,
      },
    );
    if (reply.status === ADMIT_STATUS.UNAUTHENTICATED || reply.record.hash === undefined || !apiKeyMatches(apiKey, reply.record.hash, keyHash)) return { status: 'unauthenticated' };
    const principal = toApiKey(parsed.tenantId, reply.record);
    const { ratePerSecond, remaining, resetMs, costAvailable, retryAfterMs } = reply;
    switch (reply.status) {
      case ADMIT_STATUS.FORBIDDEN_IP:
        return { status: 'forbiddenIp', principal };
      case ADMIT_STATUS.ADMITTED:
        return { status: 'admitted', principal, ratePerSecond, remaining, resetMs, costAvailable, retryAfterMs };
      case ADMIT_STATUS.RATE_LIMITED:
        return { status: 'rateLimited', principal, ratePerSecond, remaining, resetMs, costAvailable, retryAfterMs };
      case ADMIT_STATUS.COST_THROTTLED:
        return { status: 'costThrottled', principal, ratePerSecond, remaining, resetMs, costAvailable, retryAfterMs };
      default: {
        // Every status has its case: a new one fails the type check here.
        const unhandled: never = reply;
        throw new Error(`admit: unhandled reply ${JSON.stringify(unhandled)}`);
      }
    }
  }

  /**
   * Counts a failed authentication against the client address's allowance (GCRA on Redis time,
   * under the address's own key, apart from every tenant's quota). An IPv6 address counts by its
   * /64, which one subscriber usually holds whole.
   */
  async recordAuthFailure(ip: string, failuresPerMinute: number): Promise<AuthFailureDecision> {
    return recordAuthFailureScript.run(this.redis, { throttle: `oq:authfail:{ip:${addressKey(ip)}}` }, { failuresPerMinute });
  }
}
