import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { AccountDocument, CreateTransferDocument, TransfersWithAccountNamesDocument } from '../generated/graphql';
import type { TransfersWithAccountNamesQuery } from '../generated/graphql';
import { ledgerClient } from '../helpers/ledger';
import { gql, startTestServer, testRedisUrl } from '../helpers/server';
import type { GraphQLResponse, TestServer } from '../helpers/server';

// The real server (dist/, built by the global setup) is SIGKILLed while clients retry a stream of
// createTransfer calls; after every key got an answer, each key must have exactly one transfer.
const MAIN = path.resolve(__dirname, '../../dist/src/main.js');

function startServerProcess(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', REDIS_URL: testRedisUrl(), NODE_ENV: 'production', LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const url = /listening on (\S+)/.exec(stdout)?.[1];
      if (url) resolve({ child, url });
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
}

let helper: TestServer;
beforeAll(async () => {
  helper = await startTestServer();
});
afterAll(async () => {
  await helper.stop();
});

describe('a server killed with SIGKILL during a stream of retried createTransfer calls', () => {
  it('leaves exactly one transfer per key once every key has been answered', async () => {
    const { apiKey } = await helper.newTenant('crash');
    const setup = ledgerClient(helper.url, apiKey);
    const funding = await setup.account('Funding', 'EUR', true);
    const targets = [await setup.account('A'), await setup.account('B'), await setup.account('C')];
    const keys = Array.from({ length: 60 }, (_, i) => `crash-${i}`);

    let current = await startServerProcess();
    const processes = [current.child];
    let answered = 0;
    let kills = 0;
    const answers = new Map<string, string>();

    const send = async (key: string, i: number): Promise<void> => {
      const input = { fromAccountId: funding, toAccountId: targets[i % 3] as string, amount: String(i + 1), currency: 'EUR', reference: key };
      for (let attempt = 0; attempt < 400; attempt++) {
        try {
          const response = await gql(current.url, CreateTransferDocument, { input, idempotencyKey: key }, { 'api-key': apiKey });
          if (response.status === 200) {
            answers.set(key, response.body.data?.createTransfer?.id as string);
            answered += 1;
            return;
          }
        } catch {
          // connection refused or reset: the server is gone; retry against whichever runs next
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`key ${key} never got an answer`);
    };

    const killer = (async () => {
      for (const threshold of [12, 30]) {
        while (answered < threshold) await new Promise((resolve) => setTimeout(resolve, 2));
        current.child.kill('SIGKILL');
        kills += 1;
        current = await startServerProcess();
        processes.push(current.child);
      }
    })();

    // Eight clients in parallel, each working through its share of the keys.
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let i = worker; i < keys.length; i += 8) await send(keys[i] as string, i);
      }),
    );
    await killer;
    for (const child of processes) child.kill('SIGKILL');

    expect(kills).toBe(2);
    expect(answers.size).toBe(keys.length);
    const transfers: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: GraphQLResponse<TransfersWithAccountNamesQuery> = await gql(helper.url, TransfersWithAccountNamesDocument, { first: 100, after }, { 'api-key': apiKey });
      const connection = page.body.data?.transfers;
      transfers.push(...(connection?.edges.map((edge) => edge.node.id) ?? []));
      if (!connection?.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(transfers).toHaveLength(keys.length);
    // Every answer names a transfer that exists, and no two keys share one.
    expect(new Set(answers.values())).toEqual(new Set(transfers));
    // The money moved once per key: 1 + 2 + … + 60.
    const fundingBalance = await gql(helper.url, AccountDocument, { id: funding }, { 'api-key': apiKey });
    expect(fundingBalance.body.data?.account?.balance).toBe(String(-(keys.length * (keys.length + 1)) / 2));
  });
});
