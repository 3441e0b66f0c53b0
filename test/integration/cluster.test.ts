import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { ALL_SCOPES } from '../../src/auth/api-key';
import { AuthStore } from '../../src/auth/store';
import { loadConfig } from '../../src/config';
import { idempotencyRecordKey } from '@onceql/idempotency';
import type { RedisClient } from '../../src/redis/client';
import { openRedis } from '../../src/redis/connect';
import { tenantKeys } from '../../src/redis/keys';
import { loadHashesScript } from '../../src/redis/scripts';
import { createServer } from '../../src/server';
import { AccountDocument, CreateApiKeyDocument, CreateTransferDocument, IdempotencyRecordDocument, RevokeApiKeyDocument, TransfersWithAccountNamesDocument, ViewerDocument } from '../generated/graphql';
import { ledgerClient } from '../helpers/ledger';
import { startRedisCluster } from '../helpers/redis-cluster';
import type { RedisCluster } from '../helpers/redis-cluster';
import { codes, gql, memoryLogger } from '../helpers/server';
import type { GraphQLResponse } from '../helpers/server';

/**
 * onceql on a real three-master Redis Cluster, unchanged: the server is wired exactly as
 * `npm start` wires it (loadConfig with REDIS_CLUSTER=true and a seed list, then openRedis), and
 * everything is checked over HTTP. Tenants spread over the masters; each tenant's keys, and so
 * every Lua script, stay in the tenant's one slot.
 */

const HOST = '127.0.0.1';
const CHEAP = '{ __typename }';

interface ClusterServer {
  readonly url: string;
  readonly origin: string;
  readonly redis: RedisClient;
  readonly auth: AuthStore;
  stop(): Promise<void>;
}

/** One onceql instance, built like src/main.ts builds it (test/helpers/server.ts has no cluster mode). */
async function startClusterServer(clusterUrl: string, env: Record<string, string> = {}): Promise<ClusterServer> {
  const generous = { RATE_LIMIT_PER_SECOND: '1000000', RATE_LIMIT_BURST: '1000000', QUERY_COST_BUDGET: '100000000', QUERY_COST_RESTORE_PER_SECOND: '10000000' };
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...generous, ...env, REDIS_CLUSTER: 'true', REDIS_URL: clusterUrl });
  const logger = memoryLogger();
  const connection = await openRedis(config, logger);
  try {
    if (connection.client.status !== 'ready') throw new Error(`the cluster client is ${connection.client.status}: ${JSON.stringify(logger.lines)}`);
    const server = createServer(config, { redis: connection.client, logger });
    const address = await server.listen(0, HOST);
    const origin = `http://${HOST}:${address.port}`;
    return {
      url: `${origin}/graphql`,
      origin,
      redis: connection.client,
      auth: new AuthStore(connection.client),
      async stop() {
        try {
          await server.stop();
        } finally {
          await connection.close();
        }
      },
    };
  } catch (error) {
    await connection.close();
    throw error;
  }
}

let cluster: RedisCluster | undefined;
const started: ClusterServer[] = [];
/** Two instances with generous limits, and two with a low rate limit; all on the same cluster. */
let one: ClusterServer;
let two: ClusterServer;
let slowOne: ClusterServer;
let slowTwo: ClusterServer;

async function start(env: Record<string, string> = {}): Promise<ClusterServer> {
  const server = await startClusterServer((cluster as RedisCluster).url, env);
  started.push(server);
  return server;
}

beforeAll(async () => {
  cluster = await startRedisCluster();
  one = await start();
  two = await start();
  const slow = { RATE_LIMIT_PER_SECOND: '2', RATE_LIMIT_BURST: '2' };
  slowOne = await start(slow);
  slowTwo = await start(slow);
}, 30_000);

afterAll(async () => {
  const stopped = await Promise.allSettled(started.map((server) => server.stop()));
  await cluster?.stop();
  const failure = stopped.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) throw failure.reason;
}, 20_000);

function asCluster(client: RedisClient): Cluster {
  if (!(client instanceof Cluster)) throw new Error('expected an ioredis Cluster client');
  return client;
}

function statusOf(response: GraphQLResponse<unknown>): unknown {
  return (response.body.extensions?.idempotency as { status: string }[] | undefined)?.[0]?.status;
}

/** The port of the master that serves `slot`, from CLUSTER SLOTS. */
async function slotOwner(client: Cluster, slot: number): Promise<number> {
  const ranges = (await client.cluster('SLOTS')) as unknown as [number, number, [string, number, ...unknown[]], ...unknown[]][];
  const range = ranges.find(([first, last]) => slot >= first && slot <= last);
  if (range === undefined) throw new Error(`no node serves slot ${slot}`);
  return Number(range[2][1]);
}

/** Every `oq:{t:...}` key of every master, by tenant id, with the ports that hold them. */
async function tenantKeysByNode(client: Cluster): Promise<Map<string, Map<number, Set<string>>>> {
  const byTenant = new Map<string, Map<number, Set<string>>>();
  for (const node of client.nodes('master')) {
    const port = Number(node.options.port);
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', 'oq:{t:*', 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const tenantId = /^oq:\{t:([a-z0-9]+)\}/.exec(key)?.[1];
        if (tenantId === undefined) continue;
        const byNode = byTenant.get(tenantId) ?? new Map<number, Set<string>>();
        byTenant.set(tenantId, byNode);
        const set = byNode.get(port) ?? new Set<string>();
        byNode.set(port, set);
        set.add(key);
      }
    } while (cursor !== '0');
  }
  return byTenant;
}

/** MONITOR on every master: what clients sent to which node (commands run by scripts left out). */
async function monitorMasters(ports: readonly number[]): Promise<{ seen: { port: number; args: string[] }[]; stop(): void }> {
  const seen: { port: number; args: string[] }[] = [];
  const clients: Redis[] = [];
  try {
    for (const port of ports) {
      const client = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      clients.push(client);
      await client.connect();
      const monitor = await client.monitor();
      clients.push(monitor);
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (source !== 'lua') seen.push({ port, args });
      });
    }
  } catch (error) {
    for (const client of clients) client.disconnect();
    throw error;
  }
  return { seen, stop: () => clients.forEach((client) => client.disconnect()) };
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

it('starts in cluster mode: an ioredis Cluster client on three masters, /readyz ready', async () => {
  const ports = cluster?.ports ?? [];
  const client = asCluster(one.redis);
  expect(client.nodes('master').map((node) => Number(node.options.port)).sort()).toEqual([...ports].sort());
  expect(await client.cluster('INFO')).toMatch(/cluster_state:ok/);
  for (const server of [one, two, slowOne, slowTwo]) {
    const ready = await fetch(`${server.origin}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready' }]);
  }
});

it('spreads tenants over every master, and each one runs the whole ledger over HTTP, its keys in one slot on one node', async () => {
  const client = asCluster(one.redis);
  const masterPorts = client.nodes('master').map((node) => Number(node.options.port));
  expect(masterPorts).toHaveLength(3);

  // 12 tenants at least, more (up to 48) until every master holds one: ids are random.
  const tenants: { tenantId: string; apiKey: string; owner: number }[] = [];
  while (tenants.length < 12 || (new Set(tenants.map((tenant) => tenant.owner)).size < 3 && tenants.length < 48)) {
    const tenant = await one.auth.createTenant(`cluster ${tenants.length}`);
    const { secret } = await one.auth.createApiKey(tenant.id, { name: 'cluster key', scopes: ALL_SCOPES });
    const tenantKey = tenantKeys(tenant.id).tenant;
    const slot = await client.cluster('KEYSLOT', tenantKey);
    const owner = await slotOwner(client, slot);
    // Asked directly, exactly one master holds the tenant: the one CLUSTER SLOTS names for the
    // key's slot; the others answer MOVED to it.
    const holders: number[] = [];
    for (const node of client.nodes('master')) {
      try {
        if ((await node.exists(tenantKey)) === 1) holders.push(Number(node.options.port));
      } catch (error) {
        expect(String(error)).toContain(`MOVED ${slot} ${HOST}:${owner}`);
      }
    }
    expect(holders).toEqual([owner]);
    tenants.push({ tenantId: tenant.id, apiKey: secret as string, owner: holders[0] as number });
  }
  expect(new Set(tenants.map((tenant) => tenant.owner)).size).toBe(3);

  const monitor = await monitorMasters(masterPorts);
  const loadHashesSha = loadHashesScript.sha1;
  try {
    const idempotencyKeys = await Promise.all(
      tenants.map(async ({ apiKey }) => {
        const headers = { 'api-key': apiKey };
        const ledger = ledgerClient(one.url, apiKey);
        const funding = await ledger.account('Funding', 'EUR', true);
        const alice = await ledger.account('Alice');
        const bob = await ledger.account('Bob');

        // a transfer with an idempotency key, then its replay through the other instance
        const key = randomUUID();
        const input = { fromAccountId: funding, toAccountId: alice, amount: '700', currency: 'EUR', reference: 'cluster' };
        const first = await gql(one.url, CreateTransferDocument, { input, idempotencyKey: key }, headers);
        expect([first.status, statusOf(first), first.headers.get('idempotent-replayed')]).toEqual([200, 'EXECUTED', null]);
        const transferId = first.body.data?.createTransfer?.id;
        expect(transferId).toEqual(expect.any(String));
        const replay = await gql(two.url, CreateTransferDocument, { input, idempotencyKey: key }, headers);
        expect([replay.status, statusOf(replay), replay.headers.get('idempotent-replayed')]).toEqual([200, 'REPLAYED', 'true']);
        expect(replay.body.data?.createTransfer).toEqual(first.body.data?.createTransfer);

        expect((await ledger.transfer(alice, bob, '200')).status).toBe(200);
        expect((await ledger.transfer(funding, bob, '50')).status).toBe(200);

        const record = await gql(two.url, IdempotencyRecordDocument, { key }, headers);
        expect(record.body.data?.idempotencyRecord).toMatchObject({ key, status: 'COMPLETED', mutation: 'createTransfer', outcome: 'SUCCEEDED', resourceId: transferId, replayCount: 1 });

        // three transfers and three accounts, each batch one loadHashes script with many KEYS
        const listing = await gql(one.url, TransfersWithAccountNamesDocument, { accountId: null, first: 10 }, headers);
        expect(listing.status).toBe(200);
        const pairs = (listing.body.data?.transfers.edges ?? []).map(({ node }) => `${node.amount} ${node.fromAccount.name}->${node.toAccount.name}`).sort();
        expect(pairs).toEqual(['200 Alice->Bob', '50 Funding->Bob', '700 Funding->Alice']);

        // the admit script: the cost extension and the RateLimit headers
        const cost = listing.body.extensions?.cost as { requestedQueryCost: number; throttleStatus: { currentlyAvailable: number } } | undefined;
        expect(cost?.requestedQueryCost).toBeGreaterThan(0);
        expect(cost?.throttleStatus.currentlyAvailable).toEqual(expect.any(Number));
        expect(listing.headers.get('ratelimit-policy')).toBe('"tenant";q=1000000;w=1');
        expect(listing.headers.get('ratelimit')).toMatch(/^"tenant";r=\d+;t=\d+$/);

        const balances = await Promise.all([alice, bob, funding].map(async (id) => (await gql(two.url, AccountDocument, { id }, headers)).body.data?.account?.balance));
        expect(balances).toEqual(['500', '250', '-750']);
        return key;
      }),
    );

    // Every tenant's batch load reached its own master as one script call over 3 account keys.
    const batchOf = (tenantId: string, owner: number) =>
      monitor.seen.some(({ port, args }) => {
        if (port !== owner || !['evalsha', 'eval'].includes(String(args[0]).toLowerCase())) return false;
        if (args[1] !== loadHashesSha && args[1] !== loadHashesScript.lua) return false;
        const keys = args.slice(3, 3 + Number(args[2]));
        return keys.length === 3 && keys.every((key) => key.startsWith(`oq:{t:${tenantId}}:account:`));
      });
    const allSeen = await until(() => tenants.every(({ tenantId, owner }) => batchOf(tenantId, owner)), 5_000);
    expect(tenants.filter(({ tenantId, owner }) => !batchOf(tenantId, owner)).map(({ tenantId }) => tenantId)).toEqual([]);
    expect(allSeen).toBe(true);

    // Every key of a tenant (data, idempotency record, api key, limits) lives on its one master.
    const byTenant = await tenantKeysByNode(client);
    tenants.forEach(({ tenantId, owner }, i) => {
      const byNode = byTenant.get(tenantId);
      expect([...(byNode?.keys() ?? [])]).toEqual([owner]);
      const keys = tenantKeys(tenantId);
      expect([...(byNode?.get(owner) ?? [])]).toEqual(
        expect.arrayContaining([keys.tenant, keys.accounts, keys.transfers, keys.sequence, keys.apiKeys, keys.requestRate, keys.costBudget, idempotencyRecordKey(keys.tag, idempotencyKeys[i] as string)]),
      );
    });
  } finally {
    monitor.stop();
  }
});

it('refuses with 429 on one instance what another instance already admitted: the rate limit state is shared on the cluster', async () => {
  // Rate 2/s with burst 2: two requests fit, a third within 500 ms does not. Retried with a new
  // tenant only when this machine was too slow to send three requests within 450 ms.
  for (let attempt = 1; ; attempt++) {
    const tenant = await one.auth.createTenant('slow');
    const { secret } = await one.auth.createApiKey(tenant.id, { name: 'slow key', scopes: ALL_SCOPES });
    const headers = { 'api-key': secret as string };
    const started = Date.now();
    const a = await gql(slowOne.url, CHEAP, {}, headers);
    const b = await gql(slowOne.url, CHEAP, {}, headers);
    const c = await gql(slowTwo.url, CHEAP, {}, headers);
    if (Date.now() - started > 450 && attempt < 3) continue;
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.headers.get('ratelimit')).toMatch(/^"tenant";r=1;t=\d+$/);
    expect([c.status, codes(c)]).toEqual([429, ['RATE_LIMITED']]);
    expect(Number(c.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(c.headers.get('ratelimit-policy')).toBe('"tenant";q=2;w=1');
    expect(c.headers.get('ratelimit')).toMatch(/^"tenant";r=0;t=\d+$/);
    // the same tenant on a generous instance is unaffected by the slow instances' policy
    expect((await gql(one.url, CHEAP, {}, headers)).status).toBe(200);
    return;
  }
});

it('refuses (401) on one instance an api key revoked through another, at once', async () => {
  const tenant = await one.auth.createTenant('revoke');
  const { secret: admin } = await one.auth.createApiKey(tenant.id, { name: 'admin', scopes: ALL_SCOPES });
  const adminHeaders = { 'api-key': admin as string };
  const created = await gql(one.url, CreateApiKeyDocument, { input: { name: 'to revoke', scopes: ['READ'] }, idempotencyKey: randomUUID() }, adminHeaders);
  const doomed = created.body.data?.createApiKey;
  if (!doomed?.secret) throw new Error(`createApiKey failed: ${JSON.stringify(created.body)}`);
  for (const server of [one, two]) expect((await gql(server.url, ViewerDocument, {}, { 'api-key': doomed.secret })).status).toBe(200);

  const revoked = await gql(one.url, RevokeApiKeyDocument, { id: doomed.apiKey.id, idempotencyKey: randomUUID() }, adminHeaders);
  expect(revoked.body.data?.revokeApiKey?.revokedAt).toEqual(expect.any(String));

  const refused = await gql(two.url, ViewerDocument, {}, { 'api-key': doomed.secret });
  expect([refused.status, codes(refused)]).toEqual([401, ['UNAUTHENTICATED']]);
  const refusedToo = await gql(one.url, ViewerDocument, {}, { 'api-key': doomed.secret });
  expect([refusedToo.status, codes(refusedToo)]).toEqual([401, ['UNAUTHENTICATED']]);
  expect((await gql(two.url, ViewerDocument, {}, adminHeaders)).status).toBe(200);
});

// Last: it takes a master down for good.
it('answers 503 SERVICE_UNAVAILABLE, never 500, when a master is down, and /readyz turns 503 once the cluster says so', async () => {
  const client = asCluster(one.redis);
  const tenant = await one.auth.createTenant('doomed shard');
  const { secret } = await one.auth.createApiKey(tenant.id, { name: 'k', scopes: ALL_SCOPES });
  const headers = { 'api-key': secret as string };
  expect((await gql(one.url, CHEAP, {}, headers)).status).toBe(200);
  const owner = await slotOwner(client, await client.cluster('KEYSLOT', tenantKeys(tenant.id).tenant));

  const node = new Redis({ host: HOST, port: owner, maxRetriesPerRequest: 0, retryStrategy: () => null });
  node.on('error', () => undefined);
  await node.shutdown('NOSAVE').catch(() => undefined);
  node.disconnect();

  const statuses: number[] = [];
  const deadline = Date.now() + 15_000;
  let ready = 200;
  while (Date.now() < deadline && (statuses.at(-1) !== 503 || ready !== 503)) {
    const response = await gql(one.url, CHEAP, {}, headers);
    statuses.push(response.status);
    if (response.status === 503) expect(codes(response)).toEqual(['SERVICE_UNAVAILABLE']);
    ready = (await fetch(`${one.origin}/readyz`)).status;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(statuses).not.toContain(500);
  expect(statuses.at(-1)).toBe(503);
  expect(ready).toBe(503);
}, 30_000);
