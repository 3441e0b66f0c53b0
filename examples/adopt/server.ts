import path from 'node:path';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { GraphQLError } from 'graphql';
import type { Cluster, Redis } from 'ioredis';
import { defineAtomicScript, httpStatusPlugin, IDEMPOTENCY_HTTP_STATUS, idempotencyCallOf, idempotencyPlugin, idempotentResolver, withoutIdempotency } from '@onceql/idempotency';
import { RateLimiter } from '@onceql/ratelimit';
import { arrayReply, integerReply, readLua } from '@onceql/redis-script';

/**
 * A shop's own Apollo Server (its own SDL schema, its own customers), made exactly-once and
 * rate-limited by the onceql packages alone: nothing here comes from onceql's app.
 */
export const typeDefs = `#graphql
  type Order { id: ID!, item: String!, quantity: Int!, createdAt: String! }
  type Query { orders: [Order!]! }
  type Mutation { placeOrder(item: String!, quantity: Int!, idempotencyKey: String): Order! }
`;

export interface ShopContext {
  /** Who calls: the shop's own identity (here a header, `x-customer`). */
  readonly customer: string;
  /** Where the customer's keys live; `{…}` is the Redis Cluster hash tag. */
  readonly namespace: string;
}

interface Order {
  readonly id: string;
  readonly item: string;
  readonly quantity: number;
  readonly createdAt: string;
}

const PLACED = 1;
const placeOrder = defineAtomicScript({
  name: 'placeOrder',
  source: readLua(path.join(__dirname, 'place_order.lua')),
  keys: ['orders', 'sequence'],
  args: ['item', 'quantity'],
  constants: { PLACED },
  decode: (domain): Order => {
    const [status, id, createdAtMs, item, quantity] = arrayReply('placeOrder', domain, 5);
    if (integerReply('placeOrder', status) !== PLACED) throw new Error('placeOrder: unexpected status');
    return { id: String(id), item: String(item), quantity: integerReply('placeOrder', quantity), createdAt: new Date(integerReply('placeOrder', createdAtMs)).toISOString() };
  },
});

export interface ShopOptions {
  readonly redis: Redis | Cluster;
  /** Requests per second per customer, and the burst above it. */
  readonly ratePerSecond: number;
  readonly burst: number;
}

export function createShopServer({ redis, ratePerSecond, burst }: ShopOptions): ApolloServer<ShopContext> {
  const limiter = new RateLimiter(redis, { ratePerSecond, burst, prefix: 'shop:rate:' });
  const resolvers = {
    Query: {
      orders: async (_: unknown, __: unknown, { namespace }: ShopContext) => Object.values(await redis.hgetall(`${namespace}:orders`)).map((json) => JSON.parse(json) as Order),
    },
    Mutation: {
      placeOrder: idempotentResolver<unknown, ShopContext, { item: string; quantity: number }>(async (_, { item, quantity }, context, info) => {
        if (!Number.isInteger(quantity) || quantity < 1) throw new GraphQLError('quantity must be at least 1', { extensions: { code: 'BAD_USER_INPUT' } });
        const call = idempotencyCallOf(context, info) ?? withoutIdempotency(context.namespace);
        return placeOrder.run(redis, call, { orders: `${context.namespace}:orders`, sequence: `${context.namespace}:seq` }, { item, quantity });
      }),
    },
  };
  const statuses: Record<string, number> = { ...IDEMPOTENCY_HTTP_STATUS, BAD_USER_INPUT: 400, RATE_LIMITED: 429 };
  return new ApolloServer<ShopContext>({
    typeDefs,
    resolvers,
    plugins: [
      httpStatusPlugin<ShopContext>({ statusOf: (code) => statuses[String(code)] }),
      idempotencyPlugin<ShopContext>({ redis, identify: (context) => context.namespace, ttlSeconds: 86_400, leaseMs: 10_000, waitMs: 5_000 }),
      {
        // One GCRA decision per operation, on Redis time, before anything runs.
        async requestDidStart({ contextValue }) {
          return {
            async didResolveOperation() {
              const decision = await limiter.consume(contextValue.customer);
              if (!decision.allowed) {
                throw new GraphQLError('Too many requests; retry later.', {
                  extensions: { code: 'RATE_LIMITED', retryAfterMs: decision.retryAfterMs, http: { status: 429, headers: new Map([['retry-after', String(Math.ceil(decision.retryAfterMs / 1000))]]) } },
                });
              }
            },
          };
        },
      },
    ],
  });
}

/** Serves the shop on `port` (0: any free one) on loopback; the customer comes from `x-customer`. */
export async function listenShop(server: ApolloServer<ShopContext>, port: number): Promise<string> {
  const { url } = await startStandaloneServer(server, {
    listen: { port, host: '127.0.0.1' },
    context: async ({ req }) => {
      const customer = String(req.headers['x-customer'] ?? '');
      if (!/^[a-z0-9-]{1,64}$/.test(customer)) throw new GraphQLError('x-customer is missing or malformed', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
      return { customer, namespace: `shop:{c:${customer}}` };
    },
  });
  return url;
}
