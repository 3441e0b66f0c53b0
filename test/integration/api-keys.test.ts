import { createHash, randomInt, randomUUID } from 'node:crypto';
import http from 'node:http';
import fc from 'fast-check';
import { AccountDocument, AccountsDocument, ApiKeysDocument, CreateAccountDocument, CreateApiKeyDocument, IdempotencyRecordDocument, RevokeApiKeyDocument, TransferDocument, ViewerDocument } from '../generated/graphql';
import type { Scope } from '../generated/graphql';
import { ledgerClient } from '../helpers/ledger';
import { codes, connectTestRedis, gql, startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';

let server: TestServer;
let behindProxy: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  behindProxy = await startTestServer({ TRUST_PROXY: '1' });
});
afterAll(async () => {
  await server.stop();
  await behindProxy.stop();
});

async function createKey(on: TestServer, adminKey: string, scopes: Scope[], extra: { ipAllowlist?: string[]; idempotencyKey?: string } = {}) {
  const response = await gql(on.url, CreateApiKeyDocument, { input: { name: `key ${scopes.join('+')}`, scopes, ipAllowlist: extra.ipAllowlist ?? null }, idempotencyKey: extra.idempotencyKey ?? null }, { 'api-key': adminKey });
  const created = response.body.data?.createApiKey;
  if (!created) throw new Error(`createApiKey failed: ${JSON.stringify(response.body)}`);
  return created;
}

/** A random address in 198.18.0.0/15 (benchmarking range): each test's IPs are its own. */
function randomIp(): string {
  return `198.${18 + randomInt(2)}.${randomInt(256)}.${randomInt(1, 255)}`;
}

describe('scopes', () => {
  it('queries need READ, ledger mutations WRITE, key management ADMIN, viewer only a valid key', async () => {
    const { apiKey: admin } = await server.newTenant();
    const read = (await createKey(server, admin, ['READ'])).secret as string;
    const write = (await createKey(server, admin, ['WRITE'])).secret as string;
    const adminOnly = (await createKey(server, admin, ['ADMIN'])).secret as string;
    const account = await ledgerClient(server.url, admin).account('Existing');

    const cases: [string, string, unknown[], Record<string, unknown>?][] = [
      ['read: accounts', read, [200, []]],
      ['read: account', read, [200, []], { id: account }],
      ['read: createAccount', read, [403, ['FORBIDDEN']]],
      ['read: apiKeys', read, [403, ['FORBIDDEN']]],
      ['write: accounts', write, [403, ['FORBIDDEN']]],
      ['write: createAccount', write, [200, []]],
      ['write: apiKeys', write, [403, ['FORBIDDEN']]],
      ['admin: apiKeys', adminOnly, [200, []]],
      ['admin: accounts', adminOnly, [403, ['FORBIDDEN']]],
      ['admin: createAccount', adminOnly, [403, ['FORBIDDEN']]],
    ];
    for (const [name, key, expected, variables] of cases) {
      const field = name.split(': ')[1];
      const document =
        field === 'accounts' ? AccountsDocument : field === 'account' ? AccountDocument : field === 'apiKeys' ? ApiKeysDocument : CreateAccountDocument;
      const vars = variables ?? (field === 'createAccount' ? { input: { name: 'N', currency: 'EUR' } } : {});
      const response = await gql(server.url, document as typeof AccountsDocument, vars as never, { 'api-key': key });
      expect([name, response.status, codes(response)]).toEqual([name, ...expected]);
    }
    for (const key of [read, write, adminOnly]) {
      expect((await gql(server.url, ViewerDocument, {}, { 'api-key': key })).status).toBe(200);
    }
    const createKeyAsWrite = await gql(server.url, CreateApiKeyDocument, { input: { name: 'x', scopes: ['READ'] } }, { 'api-key': write });
    expect([createKeyAsWrite.status, codes(createKeyAsWrite)]).toEqual([403, ['FORBIDDEN']]);
  });

  it('a refused mutation records nothing under its idempotency key', async () => {
    const { apiKey: admin } = await server.newTenant();
    const read = (await createKey(server, admin, ['READ'])).secret as string;
    const key = randomUUID();
    const refused = await gql(server.url, CreateAccountDocument, { input: { name: 'N', currency: 'EUR' }, idempotencyKey: key }, { 'api-key': read });
    expect(codes(refused)).toEqual(['FORBIDDEN']);
    expect((await gql(server.url, IdempotencyRecordDocument, { key }, { 'api-key': admin })).body.data?.idempotencyRecord).toBeNull();
    const allowed = await gql(server.url, CreateAccountDocument, { input: { name: 'N', currency: 'EUR' }, idempotencyKey: key }, { 'api-key': admin });
    expect(allowed.body.extensions?.idempotency).toEqual([{ path: ['createAccount'], key, status: 'EXECUTED' }]);
  });
});

describe('IP allowlists', () => {
  it('refuse IPv4 callers outside the list with 403 FORBIDDEN', async () => {
    const { apiKey: admin } = await server.newTenant();
    const outside = (await createKey(server, admin, ['READ'], { ipAllowlist: ['10.0.0.0/8'] })).secret as string;
    const inside = (await createKey(server, admin, ['READ'], { ipAllowlist: ['127.0.0.0/8', '2001:db8::/32'] })).secret as string;
    const refused = await gql(server.url, ViewerDocument, {}, { 'api-key': outside });
    expect([refused.status, codes(refused)]).toEqual([403, ['FORBIDDEN']]);
    expect(refused.body.data).toBeUndefined();
    expect((await gql(server.url, ViewerDocument, {}, { 'api-key': inside })).status).toBe(200);
  });

  it('refuse IPv6 callers outside the list (a server on ::1)', async () => {
    const v6 = await startTestServer({}, undefined, undefined, '::1');
    try {
      const { apiKey: admin } = await v6.newTenant();
      const loopback = (await createKey(v6, admin, ['READ'], { ipAllowlist: ['::1'] })).secret as string;
      const documentation = (await createKey(v6, admin, ['READ'], { ipAllowlist: ['2001:db8::/32', '127.0.0.1'] })).secret as string;
      expect((await gql(v6.url, ViewerDocument, {}, { 'api-key': loopback })).status).toBe(200);
      const refused = await gql(v6.url, ViewerDocument, {}, { 'api-key': documentation });
      expect([refused.status, codes(refused)]).toEqual([403, ['FORBIDDEN']]);
    } finally {
      await v6.stop();
    }
  });

  it('use X-Forwarded-For only behind TRUST_PROXY, and only the hop the proxy wrote', async () => {
    const { apiKey: admin } = await behindProxy.newTenant();
    const office = (await createKey(behindProxy, admin, ['READ'], { ipAllowlist: ['203.0.113.0/24'] })).secret as string;
    const viewer = (forwardedFor: string, on = behindProxy) => gql(on.url, ViewerDocument, {}, { 'api-key': office, 'x-forwarded-for': forwardedFor });
    expect((await viewer('203.0.113.7')).status).toBe(200);
    expect((await viewer('198.51.100.4')).status).toBe(403);
    // The client may write anything on the left; only the proxy's entry counts.
    expect((await viewer('203.0.113.7, 198.51.100.4')).status).toBe(403);
    expect((await viewer('198.51.100.4, 203.0.113.7')).status).toBe(200);
    // Without TRUST_PROXY the header is ignored: the socket is 127.0.0.1.
    expect((await viewer('203.0.113.7', server)).status).toBe(403);
  });
});

describe('lifecycle', () => {
  it('shows the secret once, never in listings or replays, and stores only a hash', async () => {
    const { tenantId, apiKey: admin } = await server.newTenant();
    const idempotencyKey = randomUUID();
    const created = await createKey(server, admin, ['READ', 'WRITE'], { ipAllowlist: ['192.0.2.0/24', '127.0.0.1'], idempotencyKey });
    expect(created.secret).toMatch(new RegExp(`^${created.apiKey.prefix}_`));
    expect(created.secretOmitted).toBe(false);
    expect(created.apiKey).toMatchObject({ scopes: ['READ', 'WRITE'], ipAllowlist: ['192.0.2.0/24', '127.0.0.1/32'], revokedAt: null });

    const replay = await gql(server.url, CreateApiKeyDocument, { input: { name: 'key READ+WRITE', scopes: ['READ', 'WRITE'], ipAllowlist: ['192.0.2.0/24', '127.0.0.1'] }, idempotencyKey }, { 'api-key': admin });
    expect(replay.body.data?.createApiKey).toMatchObject({ secret: null, secretOmitted: true, apiKey: { id: created.apiKey.id } });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');

    const secret = created.secret as string;
    const listing = await gql(server.url, ApiKeysDocument, {}, { 'api-key': admin });
    const listed = JSON.stringify(listing.body);
    expect(listed).toContain(created.apiKey.id);
    expect(listed).not.toContain(secret.slice(-43));
    expect(listed).not.toContain(createHash('sha256').update(secret).digest('hex'));

    // Nothing the server logged holds it: bad keys, a valid one, and an error on the way.
    await gql(server.url, ViewerDocument, {}, { 'api-key': `${secret.slice(0, -3)}zzz` });
    await gql(server.url, ViewerDocument, {}, { 'api-key': secret });
    await gql(server.url, '{ viewer { nope } }', {}, { 'api-key': secret });
    expect(JSON.stringify(server.logger.lines)).not.toContain(secret.slice(-43));

    // No plaintext anywhere in Redis: every value of the tenant's keys, and every other key.
    const redis = await connectTestRedis();
    try {
      let cursor = '0';
      let scanned = 0;
      do {
        const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) {
          scanned += 1;
          expect(key).not.toContain(secret.slice(-43));
          const type = await redis.type(key);
          const values = type === 'hash' ? Object.entries(await redis.hgetall(key)).flat() : type === 'string' ? [await redis.get(key)] : type === 'zset' ? await redis.zrange(key, 0, -1) : [];
          for (const value of values) expect(value ?? '').not.toContain(secret.slice(-43));
        }
      } while (cursor !== '0');
      expect(scanned).toBeGreaterThan(0);
      expect(await redis.exists(`oq:{t:${tenantId}}:apikey:${created.apiKey.id}`)).toBe(1);
    } finally {
      redis.disconnect();
    }
  });

  it('rotates: a new key and the old one both work until the old is revoked, on every instance at once', async () => {
    const { apiKey: admin } = await server.newTenant();
    const old = await createKey(server, admin, ['READ']);
    const fresh = await createKey(server, admin, ['READ']);
    for (const key of [old.secret, fresh.secret] as string[]) {
      expect((await gql(server.url, ViewerDocument, {}, { 'api-key': key })).status).toBe(200);
      expect((await gql(behindProxy.url, ViewerDocument, {}, { 'api-key': key })).status).toBe(200);
    }
    const revoked = await gql(server.url, RevokeApiKeyDocument, { id: old.apiKey.id, idempotencyKey: randomUUID() }, { 'api-key': admin });
    expect(revoked.body.data?.revokeApiKey?.revokedAt).not.toBeNull();
    // The very next request on the other instance is refused: there is no cache to go stale.
    const afterRevoke = await gql(behindProxy.url, ViewerDocument, {}, { 'api-key': old.secret as string });
    expect([afterRevoke.status, codes(afterRevoke)]).toEqual([401, ['UNAUTHENTICATED']]);
    expect((await gql(behindProxy.url, ViewerDocument, {}, { 'api-key': fresh.secret as string })).status).toBe(200);
    const listing = await gql(server.url, ApiKeysDocument, {}, { 'api-key': admin });
    const entry = listing.body.data?.apiKeys.find((key) => key.id === old.apiKey.id);
    expect(entry?.revokedAt).toBe(revoked.body.data?.revokeApiKey?.revokedAt);
    expect(listing.body.data?.apiKeys.find((key) => key.id === fresh.apiKey.id)?.lastUsedAt).not.toBeNull();

    const unknown = await gql(server.url, RevokeApiKeyDocument, { id: 'doesnotexist0000' }, { 'api-key': admin });
    expect([unknown.status, codes(unknown)]).toEqual([404, ['NOT_FOUND']]);
    const bad = await gql(server.url, CreateApiKeyDocument, { input: { name: 'x', scopes: ['READ'], ipAllowlist: ['not-a-cidr'] } }, { 'api-key': admin });
    expect([bad.status, codes(bad)]).toEqual([400, ['BAD_USER_INPUT']]);
  });
});

describe('failed authentication is throttled per client IP', () => {
  function post(url: string, headers: Record<string, string>, localAddress?: string): Promise<{ status: number; retryAfter: string | undefined }> {
    return new Promise((resolve, reject) => {
      const body = JSON.stringify({ query: '{ viewer { tenant { id } } }' });
      const req = http.request(url, { method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  it('answers the 21st bad key from one IP in a minute with 429, while another IP is unaffected', async () => {
    const attacker = randomIp();
    const bystander = randomIp();
    const { apiKey: valid } = await behindProxy.newTenant();
    const wrong = `${valid.slice(0, -6)}AAAAAA`;
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await post(behindProxy.url, { 'api-key': wrong, 'x-forwarded-for': attacker })).status);
    expect(statuses).toEqual(Array(20).fill(401));
    const throttled = await post(behindProxy.url, { 'api-key': wrong, 'x-forwarded-for': attacker });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await post(behindProxy.url, { 'x-forwarded-for': attacker })).status).toBe(429);
    expect((await post(behindProxy.url, { 'api-key': wrong, 'x-forwarded-for': bystander })).status).toBe(401);
    // A valid key still works from the throttled address (a shared NAT must not lock out its users).
    expect((await post(behindProxy.url, { 'api-key': valid, 'x-forwarded-for': attacker })).status).toBe(200);
  });

  it('counts real socket addresses when no proxy is trusted', async () => {
    const limited = await startTestServer({ AUTH_FAILURES_PER_MINUTE: '3' });
    try {
      // Linux routes all of 127.0.0.0/8 to loopback: two distinct client addresses.
      const first = `127.${randomInt(1, 255)}.${randomInt(256)}.${randomInt(1, 255)}`;
      const second = `127.${randomInt(1, 255)}.${randomInt(256)}.${randomInt(1, 255)}`;
      const results = [];
      for (let i = 0; i < 4; i++) results.push((await post(limited.url, { 'api-key': 'nope' }, first)).status);
      expect(results).toEqual([401, 401, 401, 429]);
      expect((await post(limited.url, { 'api-key': 'nope' }, second)).status).toBe(401);
    } finally {
      await limited.stop();
    }
  });
});

describe('tenant isolation (fuzzed)', () => {
  it("a key of tenant A asking for any of tenant B's ids gets NOT_FOUND or null, never B's data", async () => {
    const a = await server.newTenant();
    const b = await server.newTenant();
    const bClient = ledgerClient(server.url, b.apiKey);
    const marker = `B-private-${randomUUID()}`;
    const bFunding = await bClient.account(`${marker}-funding`, 'EUR', true);
    const bAccount = await bClient.account(`${marker}-account`);
    const bTransfer = (await bClient.transfer(bFunding, bAccount, '777', 'EUR', marker)).body.data?.createTransfer?.id as string;
    const bKeyId = (await gql(server.url, ViewerDocument, {}, { 'api-key': b.apiKey })).body.data?.viewer.apiKey.id as string;
    const aClient = ledgerClient(server.url, a.apiKey);
    const aAccount = await aClient.account('A-own', 'EUR', true);

    const ids = fc.oneof(fc.constantFrom(bFunding, bAccount, bTransfer, bKeyId), fc.string({ maxLength: 40 }), fc.stringMatching(/^[a-z2-7]{16}$/));
    await fc.assert(
      fc.asyncProperty(ids, async (id) => {
        const responses = await Promise.all([
          gql(server.url, AccountDocument, { id }, aClient.headers),
          gql(server.url, TransferDocument, { id }, aClient.headers),
          gql(server.url, 'query($id: ID) { transfers(accountId: $id) { edges { node { id amount } } } }', { id }, aClient.headers),
          aClient.transfer(aAccount, id, '1'),
          aClient.transfer(id, aAccount, '1'),
          gql(server.url, RevokeApiKeyDocument, { id }, aClient.headers),
        ]);
        const [account, transfer, list, toB, fromB, revoke] = responses;
        expect(account?.body.data).toEqual({ account: null });
        expect(transfer?.body.data).toEqual({ transfer: null });
        expect(list?.body.data).toEqual({ transfers: { edges: [] } });
        for (const response of [toB, fromB, revoke]) expect([response?.status, codes(response as never)]).toEqual([404, ['NOT_FOUND']]);
        for (const response of responses) {
          const text = JSON.stringify(response.body);
          expect(text).not.toContain(marker);
          expect(text).not.toContain('"777"');
        }
      }),
      { numRuns: 60 },
    );
    // B's key and data are untouched.
    expect((await gql(server.url, AccountDocument, { id: bAccount }, bClient.headers)).body.data?.account?.balance).toBe('777');
    expect((await gql(server.url, ViewerDocument, {}, bClient.headers)).status).toBe(200);
  });
});
