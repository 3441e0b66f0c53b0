import type { Redis } from 'ioredis';
import { TransfersWithAccountNamesDocument } from '../generated/graphql';
import { ledgerClient } from '../helpers/ledger';
import { connectTestRedis, gql, startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

/** Records every command a client sends to Redis that names the tenant's hash tag, until `stop`. */
async function watchTenant(tenantId: string) {
  const client = (await connectTestRedis()) as Redis;
  const monitor = await client.monitor();
  const tag = `{t:${tenantId}}`;
  const commands: string[][] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    // Commands that scripts run show up too, with source "lua": count only what clients sent.
    if (source !== 'lua' && args.some((arg) => arg.includes(tag))) commands.push(args);
  });
  return {
    commands,
    /** Waits until a marker command has passed through MONITOR, so everything before it is in. */
    async stop() {
      const marker = `oq:${tag}:monitor-marker`;
      const probe = await connectTestRedis();
      await probe.get(marker);
      probe.disconnect();
      const deadline = Date.now() + 5000;
      while (!commands.some((args) => args.includes(marker)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      monitor.disconnect();
      client.disconnect();
      return commands.filter((args) => !args.includes(marker));
    },
  };
}

describe('per-request DataLoaders', () => {
  it('load the accounts of 20 listed transfers with one batched command', async () => {
    const { tenantId, apiKey } = await server.newTenant();
    const client = ledgerClient(server.url, apiKey);
    const funding = await client.account('Funding', 'EUR', true);
    const others = [await client.account('Alice'), await client.account('Bob'), await client.account('Carol')];
    for (let i = 0; i < 20; i++) await client.transfer(funding, others[i % 3] as string, String(i + 1));

    const watch = await watchTenant(tenantId);
    const response = await gql(server.url, TransfersWithAccountNamesDocument, { first: 20 }, client.headers);
    const commands = await watch.stop();

    const edges = response.body.data?.transfers.edges ?? [];
    expect(edges).toHaveLength(20);
    expect(edges.every((edge) => edge.node.fromAccount.name === 'Funding')).toBe(true);
    expect(edges.map((edge) => edge.node.toAccount.name).slice(0, 3)).toEqual(['Alice', 'Bob', 'Carol']);

    const accountKey = new RegExp(`^oq:\\{t:${tenantId}\\}:account:[a-z0-9]+$`);
    const accountLoads = commands.filter((args) => args.some((arg) => accountKey.test(arg)));
    expect(accountLoads).toHaveLength(1);
    // One command naming the four distinct accounts, each once.
    expect(accountLoads[0]?.filter((arg) => accountKey.test(arg)).sort()).toEqual([funding, ...others].map((id) => `oq:{t:${tenantId}}:account:${id}`).sort());
    // In all: the admit script, the index page, one transfer batch, one account batch.
    expect(commands.map((args) => args[0]?.toLowerCase())).toEqual(['evalsha', 'zrangebyscore', 'evalsha', 'evalsha']);
  });
});
