import { randomBytes } from 'node:crypto';
import { apiKeyFromHeaders, apiKeyMatches, formatApiKey, hashApiKey, parseApiKey } from '../../src/auth/api-key';
import { newId } from '../../src/redis/keys';

describe('api keys', () => {
  const tenantId = newId(randomBytes);
  const keyId = newId(randomBytes);

  it('carry the oq_ prefix, tenant and key id, and a 256-bit secret', () => {
    const key = formatApiKey(tenantId, keyId);
    expect(key.startsWith(`oq_${tenantId}_${keyId}_`)).toBe(true);
    const secret = key.slice(`oq_${tenantId}_${keyId}_`.length);
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    expect(parseApiKey(key)).toEqual({ tenantId, keyId, prefix: `oq_${tenantId}_${keyId}` });
  });

  it('differ on every draw', () => {
    const keys = new Set(Array.from({ length: 1000 }, () => formatApiKey(tenantId, keyId)));
    expect(keys.size).toBe(1000);
  });

  it('refuse to parse anything that is not a key', () => {
    for (const bad of ['', 'oq_', `xx_${tenantId}_${keyId}_${'a'.repeat(43)}`, `oq_${tenantId}_${keyId}_${'a'.repeat(42)}`, `oq_${tenantId.toUpperCase()}_${keyId}_${'a'.repeat(43)}`]) {
      expect(parseApiKey(bad)).toBeNull();
    }
  });

  it('are stored as a SHA-256 hash that matches only the same key', () => {
    const key = formatApiKey(tenantId, keyId);
    const hash = hashApiKey(key);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(key.slice(-43));
    expect(apiKeyMatches(key, hash)).toBe(true);
    const other = formatApiKey(tenantId, keyId);
    expect(apiKeyMatches(other, hash)).toBe(false);
    expect(apiKeyMatches(key, 'abcd')).toBe(false);
    expect(apiKeyMatches(key, '')).toBe(false);
  });

  it('are read from api-key, or Authorization: Bearer, api-key winning', () => {
    const headers = (h: Record<string, string>) => (name: string) => h[name];
    expect(apiKeyFromHeaders(headers({ 'api-key': 'A' }))).toBe('A');
    expect(apiKeyFromHeaders(headers({ authorization: 'Bearer B' }))).toBe('B');
    expect(apiKeyFromHeaders(headers({ authorization: 'bearer  B' }))).toBe('B');
    expect(apiKeyFromHeaders(headers({ 'api-key': 'A', authorization: 'Bearer B' }))).toBe('A');
    expect(apiKeyFromHeaders(headers({ authorization: 'Basic Zm9vOmJhcg==' }))).toBeNull();
    expect(apiKeyFromHeaders(headers({}))).toBeNull();
  });
});

describe('ids', () => {
  it('are 16 lower-case base32 characters', () => {
    const id = newId(randomBytes);
    expect(id).toMatch(/^[a-z2-7]{16}$/);
    expect(newId(() => Buffer.alloc(10, 0))).toBe('aaaaaaaaaaaaaaaa');
    expect(newId(() => Buffer.alloc(10, 0xff))).toBe('7777777777777777');
  });
});
