import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/client';
import { newId, tenantKeys } from '../redis/keys';
import { runScript } from '../redis/scripts';
import { ALL_SCOPES, apiKeyMatches, formatApiKey, hashApiKey, parseApiKey } from './api-key';
import type { Scope } from './api-key';

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly createdAt: Date;
}

/** Who is calling: the result of authenticating a request's key. */
export interface Principal {
  readonly tenantId: string;
  readonly keyId: string;
  readonly keyName: string;
  readonly keyPrefix: string;
  readonly scopes: readonly Scope[];
  readonly keyCreatedAt: Date;
}

export interface CreatedApiKey {
  readonly keyId: string;
  /** The plaintext key: returned once, never stored. */
  readonly apiKey: string;
}

const MAX_NAME_LENGTH = 200;

function assertName(name: string, what: string): void {
  if (name.trim().length === 0 || name.length > MAX_NAME_LENGTH) {
    throw new TypeError(`${what} name must be 1-${MAX_NAME_LENGTH} characters and not blank`);
  }
}

function parseScopes(text: string | undefined): Scope[] {
  return (text ?? '').split(',').filter((scope): scope is Scope => (ALL_SCOPES as readonly string[]).includes(scope));
}

export class AuthStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly random: (size: number) => Buffer = randomBytes,
  ) {}

  async createTenant(name: string): Promise<Tenant> {
    assertName(name, 'tenant');
    for (;;) {
      const id = newId(this.random);
      const reply = (await runScript(this.redis, 'createTenant', [tenantKeys(id).tenant], [id, name])) as [number, number?];
      if (reply[0] === 2) continue; // an 80-bit id collided: draw another
      return { id, name, createdAt: new Date(Number(reply[1])) };
    }
  }

  async getTenant(tenantId: string): Promise<Tenant | null> {
    const hash = await this.redis.hgetall(tenantKeys(tenantId).tenant);
    if (hash.id === undefined) return null;
    return { id: hash.id, name: hash.name ?? '', createdAt: new Date(Number(hash.createdAt)) };
  }

  async createApiKey(tenantId: string, name: string, scopes: readonly Scope[]): Promise<CreatedApiKey> {
    assertName(name, 'api key');
    const keys = tenantKeys(tenantId);
    for (;;) {
      const keyId = newId(this.random);
      const apiKey = formatApiKey(tenantId, keyId, this.random);
      const parsed = parseApiKey(apiKey);
      if (parsed === null) throw new Error('formatApiKey produced a key parseApiKey rejects');
      const reply = (await runScript(this.redis, 'createApiKey', [keys.tenant, keys.apiKey(keyId), keys.apiKeys], [
        keyId,
        name,
        parsed.prefix,
        hashApiKey(apiKey),
        scopes.join(','),
      ])) as [number];
      if (reply[0] === 2) throw new Error(`tenant ${tenantId} does not exist`);
      if (reply[0] === 3) continue; // an 80-bit id collided: draw another
      return { keyId, apiKey };
    }
  }

  /**
   * The principal a presented key stands for, or null for a malformed, unknown or revoked key.
   * One Redis read; the hash comparison is constant-time.
   */
  async authenticate(apiKey: string): Promise<Principal | null> {
    const parsed = parseApiKey(apiKey);
    if (parsed === null) return null;
    const record = await this.redis.hgetall(tenantKeys(parsed.tenantId).apiKey(parsed.keyId));
    if (record.hash === undefined || !apiKeyMatches(apiKey, record.hash) || record.revokedAt !== undefined) return null;
    return {
      tenantId: parsed.tenantId,
      keyId: parsed.keyId,
      keyName: record.name ?? '',
      keyPrefix: parsed.prefix,
      scopes: parseScopes(record.scopes),
      keyCreatedAt: new Date(Number(record.createdAt)),
    };
  }
}
