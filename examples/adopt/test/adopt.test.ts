import { Redis } from 'ioredis';
import type { ApolloServer } from '@apollo/server';
import { createShopServer, listenShop } from '../server';
import type { ShopContext } from '../server';

const redisUrl = process.env.ONCEQL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const run = `${process.pid}-${Date.now()}`;

interface Answer {
  status: number;
  headers: Headers;
  body: { data?: { placeOrder?: { id: string; quantity: number } | null } | null; errors?: { extensions?: { code?: string } }[] };
}

describe('examples/adopt: another Apollo server made exactly-once and rate-limited by the packages', () => {
  let redis: Redis;
  let server: ApolloServer<ShopContext>;
  let url: string;

  const post = async (customer: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-customer': customer, ...headers }, body: JSON.stringify(body) });
    return { status: response.status, headers: response.headers, body: (await response.json()) as Answer['body'] };
  };
  const order = (customer: string, key: string | null, quantity = 1, item = 'tea') =>
    post(customer, { query: 'mutation($item: String!, $quantity: Int!, $key: String) { placeOrder(item: $item, quantity: $quantity, idempotencyKey: $key) { id quantity } }', variables: { item, quantity, key } });
  const ordersOf = (customer: string) => redis.hlen(`shop:{c:${customer}}:orders`);

  beforeAll(async () => {
    redis = new Redis(redisUrl);
    server = createShopServer({ redis, ratePerSecond: 1, burst: 40 });
    url = await listenShop(server, 0);
  });
  afterAll(async () => {
    await server.stop();
    await redis.quit();
  });

  it('a retry with the same key replays the first order: one order in Redis, the same answer, Idempotent-Replayed', async () => {
    const customer = `replay-${run}`;
    const first = await order(customer, 'key-1', 2);
    const retry = await order(customer, 'key-1', 2);
    expect(first.status).toBe(200);
    expect(retry.status).toBe(200);
    expect(retry.body.data?.placeOrder).toEqual(first.body.data?.placeOrder);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await ordersOf(customer)).toBe(1);
    // Without a key, each request is a new order.
    await order(customer, null);
    await order(customer, null);
    expect(await ordersOf(customer)).toBe(3);
  });

  it('20 duplicates racing: one order, every answer the same', async () => {
    const customer = `race-${run}`;
    const answers = await Promise.all(Array.from({ length: 20 }, () => order(customer, 'race-key', 3)));
    expect(new Set(answers.map((answer) => answer.body.data?.placeOrder?.id)).size).toBe(1);
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(await ordersOf(customer)).toBe(1);
  });

  it('the same key with other arguments is refused (422 IDEMPOTENCY_KEY_REUSED) and writes nothing', async () => {
    const customer = `reuse-${run}`;
    await order(customer, 'key-2', 1);
    const reused = await order(customer, 'key-2', 5);
    expect(reused.status).toBe(422);
    expect(reused.body.errors?.[0]?.extensions?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await ordersOf(customer)).toBe(1);
  });

  it('the rate limit refuses past burst + rate·T with 429 RATE_LIMITED and Retry-After, writes nothing, and other customers are still served', async () => {
    const customer = `limit-${run}`;
    const started = Date.now();
    const answers: Answer[] = [];
    for (let i = 0; i < 50; i++) answers.push(await order(customer, `limit-${i}`));
    const seconds = (Date.now() - started) / 1000;
    const admitted = answers.filter((answer) => answer.status === 200).length;
    const refused = answers.filter((answer) => answer.status === 429);
    // At rate 1/s with burst 40: at least the burst, never more than burst + rate·T (+1 for the boundary).
    expect(admitted).toBeGreaterThanOrEqual(40);
    expect(admitted).toBeLessThanOrEqual(40 + Math.ceil(seconds) + 1);
    expect(refused.length).toBe(50 - admitted);
    expect(refused[0]?.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(Number(refused[0]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await ordersOf(customer)).toBe(admitted);
    expect((await order(`other-${run}`, 'k')).status).toBe(200);
  });
});
