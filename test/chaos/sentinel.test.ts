import 'reflect-metadata';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { ALL_SCOPES } from '../../src/auth/api-key';
import { AuthStore } from '../../src/auth/store';
import { createRedisClient, waitForRedis } from '../../src/redis/client';
import type { SentinelGroup } from '../helpers/sentinel';
import { startSentinelGroup } from '../helpers/sentinel';
import type { ApiProcess } from './api-process';
import { startApiProcess } from './api-process';
import type { Answer } from './http-client';
import { codeOf, post } from './http-client';

// The API (a real process, REDIS_SENTINELS set) rides a failover: the primary is SIGKILLed and no
// one touches anything; the sentinels find it down and promote the replica, the API answers 503
// meanwhile, and then serves every request again on the new primary. Nothing is restarted by hand.
let group: SentinelGroup;
let api: ApiProcess | undefined;

beforeAll(async () => {
  group = await startSentinelGroup({ downAfterMs: 1000 });
}, 60_000);

afterAll(async () => {
  await api?.kill();
  await group?.stop();
});

it('admin CLI through the sentinels with WAIT 1: create-tenant answers once the replica has the tenant and its key, and exits', async () => {
  const cli = path.resolve(__dirname, '../../dist/src/admin.js');
  // Not spawnSync: the replication link is relayed by this process, which must keep running.
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(process.execPath, [cli, 'create-tenant', '--name', 'through sentinel'], { env: { PATH: process.env.PATH, ...group.env, REDIS_WAIT_REPLICAS: '1' }, timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : (child.exitCode ?? -1), stdout, stderr }),
    );
  });
  // It exits by itself (a Sentinel client's failover detector would otherwise keep it alive).
  expect([result.code, result.stderr]).toEqual([0, '']);
  const { tenantId, apiKey } = JSON.parse(result.stdout) as { tenantId: string; apiKey: string };
  const keyId = apiKey.split('_')[2] as string;
  const primary = await group.primary();
  const replica = new Redis((group.nodes.find((node) => node !== primary) as { url: string }).url);
  try {
    expect(await replica.exists(`oq:{t:${tenantId}}:tenant`, `oq:{t:${tenantId}}:apikey:${keyId}`)).toBe(2);
  } finally {
    replica.disconnect();
  }
});

const TRANSFER = 'mutation($input: CreateTransferInput!, $key: String) { createTransfer(input: $input, idempotencyKey: $key) { id } }';
const ACCOUNT = 'mutation($input: CreateAccountInput!) { createAccount(input: $input) { id } }';
const TRANSFERS = 'query { transfers(first: 100) { edges { node { id reference } } } }';

it('answers 503 during the switch and serves every request after it, with no manual step', async () => {
  const first = await group.primary();
  const setup = createRedisClient({ url: first.url });
  await waitForRedis(setup, 5_000);
  const created = await new AuthStore(setup).createTenantWithKey('failover', { name: 'failover', scopes: ALL_SCOPES });
  setup.disconnect();
  const apiKey = created.apiKey?.secret as string;
  api = await startApiProcess({ ...group.env, REDIS_COMMAND_TIMEOUT_MS: '1000' });
  const url = api.url;

  const account = async (name: string, allowNegativeBalance: boolean) => {
    const answer = await post(url, apiKey, ACCOUNT, { input: { name, currency: 'EUR', allowNegativeBalance } });
    return (answer?.body.data?.createAccount as { id: string }).id;
  };
  const funding = await account('funding', true);
  const target = await account('target', false);
  const statuses: string[] = [];
  const acknowledged = new Map<string, string>();
  const send = (key: string): Promise<Answer | null> => post(url, apiKey, TRANSFER, { input: { fromAccountId: funding, toAccountId: target, amount: '1', currency: 'EUR', reference: key }, key }, 5_000);
  const sendUntilAnswered = async (key: string) => {
    for (let attempt = 0; attempt < 600; attempt++) {
      const answer = await send(key);
      statuses.push(answer === null ? 'lost' : `${answer.status}${codeOf(answer) ? ` ${codeOf(answer)}` : ''}`);
      const id = (answer?.body.data?.createTransfer as { id?: string } | undefined)?.id;
      if (answer?.status === 200 && id !== undefined) return acknowledged.set(key, id);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${key} was never answered: ${statuses.slice(-5).join(', ')}`);
  };

  for (let i = 0; i < 5; i++) await sendUntilAnswered(`before-${i}`);
  // The replica has everything acknowledged so far (this test is about riding the switch; what a
  // failover loses without WAIT is measured by the chaos run).
  const direct = new Redis(first.url);
  await direct.wait(1, 5_000);
  direct.disconnect();
  const before = statuses.length;

  await first.kill();
  await sendUntilAnswered('during');
  const during = statuses.slice(before);
  const promoted = await group.waitForNewPrimary(first.port, 30_000);
  expect(promoted.port).not.toBe(first.port);
  // Requests during the switch were refused with 503, never with a 500 or a hang.
  expect(during.some((status) => status.startsWith('503'))).toBe(true);
  expect(during.every((status) => status === '200' || status.startsWith('503'))).toBe(true);

  // Full service after: once every sentinel names the new primary (none has a +switch-master left
  // to announce, which would make the client reconnect once more), every request is answered 200
  // on its first attempt.
  await sendUntilAnswered('settled');
  const after: string[] = [];
  for (let i = 0; i < 20; i++) {
    const answer = await send(`after-${i}`);
    after.push(String(answer?.status ?? 'lost'));
    const id = (answer?.body.data?.createTransfer as { id?: string } | undefined)?.id;
    if (id !== undefined) acknowledged.set(`after-${i}`, id);
  }
  expect(after).toEqual(Array<string>(20).fill('200'));

  const listed = await post(url, apiKey, TRANSFERS, {});
  const transfers = (listed?.body.data?.transfers as { edges: { node: { id: string; reference: string } }[] }).edges.map((edge) => edge.node);
  expect(new Set(transfers.map((transfer) => transfer.id))).toEqual(new Set(acknowledged.values()));
  expect(transfers).toHaveLength(acknowledged.size);
}, 90_000);
