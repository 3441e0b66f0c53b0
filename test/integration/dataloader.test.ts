import { TransfersWithAccountNamesDocument } from '../generated/graphql';
import { ledgerClient } from '../helpers/ledger';
import { commandNames, watchTenantCommands } from '../helpers/monitor';
import { gql, startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

describe('per-request DataLoaders', () => {
  it('load the accounts of 20 listed transfers with one batched command', async () => {
    const { tenantId, apiKey } = await server.newTenant();
    const client = ledgerClient(server.url, apiKey);
    const funding = await client.account('Funding', 'EUR', true);
    const others = [await client.account('Alice'), await client.account('Bob'), await client.account('Carol')];
    for (let i = 0; i < 20; i++) await client.transfer(funding, others[i % 3] as string, String(i + 1));

    const watch = await watchTenantCommands(tenantId);
    await watch.take();
    const response = await gql(server.url, TransfersWithAccountNamesDocument, { first: 20 }, client.headers);
    const commands = await watch.take();
    watch.stop();

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
    expect(commandNames(commands)).toEqual(['evalsha', 'zrangebyscore', 'evalsha', 'evalsha']);
  });
});
