import 'reflect-metadata';
import { Redis } from 'ioredis';
import { ALL_SCOPES } from '../../src/auth/api-key';
import { AuthStore } from '../../src/auth/store';
import type { RedisClient } from '../../src/redis/client';
import { createRedisClient, waitForRedis } from '../../src/redis/client';
import { CreateAccountDocument } from '../generated/graphql';
import type { RedisCluster } from '../helpers/redis-cluster';
import { startRedisCluster } from '../helpers/redis-cluster';
import { codes, gql, startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';

// On Redis Cluster, WAIT must run on the primary of the shard that ran the script: WAIT counts the
// replicas of its own node. The script and WAIT go as one pipeline to the slot's node. This cluster
// has no replicas, so with REDIS_WAIT_REPLICAS=1 every write falls short (503 OUTCOME_UNKNOWN, also
// on its replay) and MONITOR shows where each WAIT went.
const TENANTS = 30;
let cluster: RedisCluster;
let setup: RedisClient;
let server: TestServer;

beforeAll(async () => {
  cluster = await startRedisCluster();
  setup = createRedisClient({ url: cluster.url, cluster: true });
  await waitForRedis(setup, 10_000);
  server = await startTestServer({ REDIS_CLUSTER: 'true', REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '20' }, cluster.url);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  setup?.disconnect();
  await cluster?.stop();
});

it('sends WAIT to the node that ran the script, for tenants on every shard', async () => {
  const nodes = cluster.ports.map((port) => new Redis({ host: '127.0.0.1', port }));
  const monitors = await Promise.all(nodes.map((node) => node.monitor()));
  const seen = cluster.ports.map(() => [] as { source: string; args: string[] }[]);
  monitors.forEach((monitor, node) =>
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua') seen[node]?.push({ source, args });
    }),
  );
  try {
    const auth = new AuthStore(setup);
    const tenants: string[] = [];
    // Enough tenants that each of the three shards holds at least one (ids are random: a shard is
    // missed with probability 3 × (2/3)^30 ≈ 1.5e-5).
    for (let i = 0; i < TENANTS; i++) {
      const { tenant, apiKey } = await auth.createTenantWithKey(`shard ${i}`, { name: 'key', scopes: ALL_SCOPES });
      tenants.push(tenant.id);
      const headers = { 'api-key': apiKey?.secret as string };
      for (let attempt = 0; attempt < 2; attempt++) {
        const answer = await gql(server.url, CreateAccountDocument, { input: { name: 'a', currency: 'EUR' }, idempotencyKey: `account-${i}` }, headers);
        expect([answer.status, codes(answer)]).toEqual([503, ['OUTCOME_UNKNOWN']]);
      }
    }
    // MONITOR lines arrive on their own connections: wait (bounded) until every WAIT has been seen.
    const waits = () => seen.flat().filter(({ args }) => String(args[0]).toLowerCase() === 'wait').length;
    // One per request, plus one per node: the first EVALSHA on a node meets NOSCRIPT (its WAIT still
    // runs, after a script that did not), then EVAL loads it.
    const expected = TENANTS * 2 + cluster.ports.length;
    for (let i = 0; i < 100 && waits() < expected; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(waits()).toBe(expected);

    let shardsWithScripts = 0;
    for (const commands of seen) {
      const scripts = commands.filter(({ args }) => /^eval/i.test(String(args[0])) && args.some((arg) => arg.includes(':account:')));
      if (scripts.length > 0) shardsWithScripts += 1;
      // Every account script on this node is followed, on its connection, by WAIT 1 20 …
      for (const script of scripts) {
        const after = commands.slice(commands.indexOf(script) + 1).find((command) => command.source === script.source);
        expect(after?.args.map((arg) => arg.toLowerCase())).toEqual(['wait', '1', '20']);
      }
      // … and a node gets no WAIT without a script before it.
      expect(commands.filter(({ args }) => String(args[0]).toLowerCase() === 'wait')).toHaveLength(scripts.length);
    }
    expect(shardsWithScripts).toBe(cluster.ports.length);
  } finally {
    for (const client of [...monitors, ...nodes]) client.disconnect();
  }
});
