import http from 'node:http';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { makeIdempotent, IdempotencyConfig } from '@aws-lambda-powertools/idempotency';
import { CachePersistenceLayer } from '@aws-lambda-powertools/idempotency/cache';
import type { CacheClient } from '@aws-lambda-powertools/idempotency/cache/types';
import { Redis } from 'ioredis';
import { readBody, writeGraphQLResponse } from '../../src/http/apollo-node';
import { LedgerStore } from '../../src/ledger/store';
import { accountPool, countCommands, countRequests, ready, redisUrlArgument, serveParent } from '../child';

/**
 * The anchors: bare Apollo Server 5 on the same plain node:http glue as onceql, answering the
 * bench's operations with nothing of onceql's (no auth, no limits, no plugins):
 *   echo          createTransfer returns its input as a transfer
 *   echo-evalsha  the same after two sequential EVALSHA (the floor of admit + one script)
 *   shape         account { transfers(first: 20) … } from memory
 *   powertools    createTransfer through @aws-lambda-powertools/idempotency (makeIdempotent, the
 *                 Redis "cache" persistence layer) around onceql's transfer script without a key:
 *                 the same side effect on the same kind of Redis
 */
const typeDefs = `#graphql
  scalar DateTime
  scalar Amount
  type Account { id: ID! name: String! currency: String! balance: Amount! transfers(first: Int = 20, after: String): TransferConnection! }
  type Transfer { id: ID! fromAccount: Account! toAccount: Account! amount: Amount! currency: String! reference: String createdAt: DateTime! }
  type TransferEdge { cursor: String! node: Transfer! }
  type PageInfo { hasNextPage: Boolean! endCursor: String }
  type TransferConnection { edges: [TransferEdge!]! pageInfo: PageInfo! }
  input CreateTransferInput { fromAccountId: ID! toAccountId: ID! amount: Amount! currency: String! reference: String }
  type Query { account(id: ID!): Account }
  type Mutation { createTransfer(input: CreateTransferInput!, idempotencyKey: String): Transfer }
`;

interface TransferInput {
  fromAccountId: string;
  toAccountId: string;
  amount: string;
  currency: string;
  reference: string | null;
}

interface AccountShape {
  id: string;
  name: string;
  currency: string;
  balance: string;
}

const alice: AccountShape = { id: 'aliceaccount0000', name: 'Alice', currency: 'EUR', balance: '-20' };
const bob: AccountShape = { id: 'bobaccount000000', name: 'Bob', currency: 'EUR', balance: '20' };
const transfers = Array.from({ length: 20 }, (_, i) => ({
  cursor: Buffer.from(`s:${i + 3}`).toString('base64url'),
  node: { id: `transfer${String(i).padStart(8, '0')}`, amount: '1', currency: 'EUR', createdAt: new Date(1_700_000_000_000 + i).toISOString(), reference: null, fromAccount: alice, toAccount: bob },
}));
const connection = { edges: transfers, pageInfo: { hasNextPage: true, endCursor: transfers[19]?.cursor ?? null } };

/** Powertools' cache layer speaks @redis/client's `set(key, value, {EX, NX})`; ioredis spells it out. */
function cacheClient(redis: Redis): CacheClient {
  return {
    get: (name) => redis.get(name),
    async set(name, value, options) {
      const { EX, NX } = (options ?? {}) as { EX?: number; NX?: boolean };
      const args: (string | number)[] = [];
      if (EX !== undefined) args.push('EX', EX);
      if (NX === true) args.push('NX');
      return (await redis.call('SET', String(name), String(value), ...args)) as string | null;
    },
    del: (keys) => redis.del(...keys),
  };
}

async function main(): Promise<void> {
  const url = redisUrlArgument();
  const mode = process.argv[3] ?? 'echo';
  const redis = countCommands(new Redis(url, { maxRetriesPerRequest: 1 }));
  redis.defineCommand('benchTouch', { numberOfKeys: 1, lua: "return redis.call('INCR', KEYS[1])" });
  const touch = (redis as unknown as { benchTouch(key: string): Promise<number> }).benchTouch.bind(redis);

  const echo = (input: TransferInput) => ({
    id: 'echo000000000000',
    amount: input.amount,
    currency: input.currency,
    reference: input.reference,
    createdAt: new Date().toISOString(),
    fromAccount: { ...alice, id: input.fromAccountId },
    toAccount: { ...bob, id: input.toAccountId },
  });

  let createTransfer: (args: { input: TransferInput; idempotencyKey: string | null }) => unknown = ({ input }) => echo(input);
  let data: Record<string, string> = { from: alice.id, to: bob.id };
  if (mode === 'echo-evalsha') {
    createTransfer = async ({ input }) => {
      await touch('bench:admit');
      await touch('bench:script');
      return echo(input);
    };
  } else if (mode === 'powertools') {
    const ledger = new LedgerStore(redis, 'powertoolsbench0');
    const from = await ledger.createAccount({ name: 'Alice', currency: 'EUR', allowNegativeBalance: true });
    const to = await ledger.createAccount({ name: 'Bob', currency: 'EUR', allowNegativeBalance: false });
    data = { from: from.id, to: to.id, pool: (await accountPool(ledger)).join(',') };
    const config = new IdempotencyConfig({ eventKeyJmesPath: 'key', payloadValidationJmesPath: 'input', expiresAfterSeconds: 86_400 });
    const transfer = makeIdempotent(
      async (event: { key: string | null; input: TransferInput }) => {
        const { input } = event;
        const { transfer: stored, accounts } = await ledger.createTransfer({ ...input, amount: BigInt(input.amount) });
        const [fromAccount, toAccount] = accounts;
        return {
          id: stored.id,
          amount: stored.amount.toString(),
          currency: stored.currency,
          reference: stored.reference,
          createdAt: stored.createdAt.toISOString(),
          fromAccount: { ...fromAccount, balance: fromAccount?.balance.toString() },
          toAccount: { ...toAccount, balance: toAccount?.balance.toString() },
        };
      },
      {
        persistenceStore: new CachePersistenceLayer({ client: cacheClient(redis) }),
        config,
      },
    );
    // A Lambda's remaining time bounds the in-progress lock; a server has none, so a fixed minute.
    config.registerLambdaContext({ getRemainingTimeInMillis: () => 60_000 } as Parameters<IdempotencyConfig['registerLambdaContext']>[0]);
    createTransfer = ({ input, idempotencyKey }) => transfer({ key: idempotencyKey, input });
  }

  const apollo = new ApolloServer({
    typeDefs,
    resolvers: {
      Query: { account: (_: unknown, { id }: { id: string }) => ({ ...alice, id }) },
      Account: { transfers: () => connection },
      Mutation: { createTransfer: (_: unknown, args: { input: TransferInput; idempotencyKey: string | null }) => createTransfer(args) },
    },
  });
  await apollo.start();
  const server = http.createServer((req, res) => {
    void (async () => {
      const headers = new HeaderMap();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
      const text = await readBody(req, 1_000_000);
      const response = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method ?? 'POST', headers, search: '', body: text === '' ? undefined : JSON.parse(text) },
        context: async () => ({}),
      });
      await writeGraphQLResponse(res, response);
    })().catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  });
  server.keepAliveTimeout = 60_000;
  countRequests(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serveParent(async () => {
    server.close();
    await apollo.stop();
    redis.disconnect();
  });
  const address = server.address();
  ready(typeof address === 'object' && address !== null ? address.port : 0, data);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench anchor server: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
