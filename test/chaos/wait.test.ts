import { Redis } from 'ioredis';
import { codes, gql, startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';
import { ledgerClient } from '../helpers/ledger';
import type { SentinelGroup } from '../helpers/sentinel';
import { startSentinelGroup } from '../helpers/sentinel';
import { TransfersWithAccountNamesDocument } from '../generated/graphql';

// REDIS_WAIT_REPLICAS=1 against a real primary and replica (replicating through a link that can be
// held, as in a network split): a mutation is acknowledged only once the replica has it, WAIT runs
// on the connection that ran the script, and a WAIT that falls short is OUTCOME_UNKNOWN whose retry
// with the same key replays the one transfer.
let group: SentinelGroup;
let server: TestServer;
let primary: Redis;
let replica: Redis;

beforeAll(async () => {
  group = await startSentinelGroup({ downAfterMs: 60_000 });
  const primaryNode = await group.primary();
  const replicaNode = group.nodes.find((node) => node !== primaryNode);
  primary = new Redis(primaryNode.url);
  replica = new Redis(replicaNode?.url as string);
  server = await startTestServer({ REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '300', REDIS_COMMAND_TIMEOUT_MS: '3000' }, primaryNode.url);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  primary?.disconnect();
  replica?.disconnect();
  await group?.stop();
});

async function setup(name: string) {
  const { tenantId, apiKey } = await server.newTenant(name);
  const ledger = ledgerClient(server.url, apiKey);
  const funding = await ledger.account('funding', 'EUR', true);
  const target = await ledger.account('target');
  return { tenantId, apiKey, ledger, funding, target };
}

async function transferIds(apiKey: string): Promise<string[]> {
  const page = await gql(server.url, TransfersWithAccountNamesDocument, { first: 100 }, { 'api-key': apiKey });
  return page.body.data?.transfers.edges.map((edge) => edge.node.id) ?? [];
}

describe('WAIT after acknowledged writes', () => {
  it('sends WAIT right behind the script on the same connection, and answers once the replica has the transfer', async () => {
    const { tenantId, ledger, funding, target } = await setup('wait');
    const monitor = await primary.monitor();
    const seen: { source: string; args: string[] }[] = [];
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua') seen.push({ source, args });
    });
    try {
      const answer = await ledger.transfer(funding, target, '25');
      expect(answer.status).toBe(200);
      const id = answer.body.data?.createTransfer?.id as string;
      // The replica had it before the answer was sent.
      expect(await replica.exists(`oq:{t:${tenantId}}:transfer:${id}`)).toBe(1);
      const script = seen.findIndex(({ args }) => /^eval/i.test(String(args[0])) && args.some((arg) => arg.includes(`{t:${tenantId}}:transfer:`)));
      expect(script).toBeGreaterThanOrEqual(0);
      const { source } = seen[script] as { source: string };
      const next = seen.slice(script + 1).find((command) => command.source === source);
      expect(next?.args.map((arg) => arg.toLowerCase())).toEqual(['wait', '1', '300']);
    } finally {
      monitor.disconnect();
    }
  });

  it('answers OUTCOME_UNKNOWN while the replica is cut off, and the retry with the same key replays the one transfer', async () => {
    const { apiKey, ledger, funding, target } = await setup('held');
    group.link.hold();
    let held;
    try {
      held = await ledger.transfer(funding, target, '40', 'EUR', null, 'held-key');
      // A read is still served meanwhile.
      expect((await gql(server.url, TransfersWithAccountNamesDocument, { first: 5 }, { 'api-key': apiKey })).status).toBe(200);
    } finally {
      group.link.release();
    }
    expect(held.status).toBe(503);
    expect(codes(held)).toEqual(['OUTCOME_UNKNOWN']);
    // It ran on the primary, and was not acknowledged.
    const [id] = await transferIds(apiKey);
    expect(await transferIds(apiKey)).toHaveLength(1);

    const retry = await ledger.transfer(funding, target, '40', 'EUR', null, 'held-key');
    expect(retry.status).toBe(200);
    expect(retry.body.data?.createTransfer?.id).toBe(id);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await transferIds(apiKey)).toEqual([id]);
  });
});
