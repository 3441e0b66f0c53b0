import { randomUUID } from 'node:crypto';
import { ApolloServer, HeaderMap } from '@apollo/server';
import { buildSchema } from 'graphql';
import type { GraphQLFieldResolver } from 'graphql';
import { Redis } from 'ioredis';
import { integerReply } from '@onceql/redis-script';
import { defineAtomicScript, httpStatusPlugin, idempotencyCallOf, idempotencyPlugin, idempotentResolver, withoutIdempotency } from '@onceql/idempotency';

// The package in a plain Apollo Server with an SDL schema (no type-graphql): the atomic helper,
// the plugin and the status rule, over real Redis.

const url = process.env.ONCEQL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const addPoints = defineAtomicScript({
  name: 'addPoints',
  source: `local replay = idem_begin()
if replay then return {replay} end
local total = redis.call('INCRBY', KEYS[2], ARGV[5])
return {idem_finish(now_ms(), {ADDED, total}, '', '')}`,
  keys: ['points'],
  args: ['amount'],
  constants: { ADDED: 1 },
  decode: ([, total]) => integerReply('addPoints', total),
});

interface Context {
  readonly namespace: string;
}

describe('an SDL Apollo server with @onceql/idempotency', () => {
  let redis: Redis;
  let apollo: ApolloServer<Context>;
  const namespace = `adopt-test:{${randomUUID()}}`;
  const points = `${namespace}:points`;

  beforeAll(async () => {
    redis = new Redis(url);
    const schema = buildSchema('type Query { ok: Boolean } type Mutation { addPoints(amount: Int!, idempotencyKey: String): Int, other: Int }');
    const resolve: GraphQLFieldResolver<unknown, Context, { amount: number }> = (_source, { amount }, context, info) =>
      addPoints.run(redis, idempotencyCallOf(context, info) ?? withoutIdempotency(context.namespace), { points }, { amount });
    const mutation = schema.getMutationType();
    const field = mutation?.getFields().addPoints;
    if (!field) throw new Error('no addPoints field');
    field.resolve = idempotentResolver(resolve);
    apollo = new ApolloServer<Context>({
      schema,
      plugins: [httpStatusPlugin<Context>(), idempotencyPlugin<Context>({ redis, identify: (context) => context.namespace, ttlSeconds: 60, leaseMs: 1_000, waitMs: 0 })],
    });
    await apollo.start();
  });
  afterAll(async () => {
    await apollo.stop();
    await redis.quit();
  });

  async function send(query: string, variables: Record<string, unknown>, headers: [string, string][] = []) {
    const response = await apollo.executeOperation(
      { query, variables, http: { method: 'POST', headers: new HeaderMap(headers), search: '', body: {} } },
      { contextValue: { namespace } },
    );
    if (response.body.kind !== 'single') throw new Error('not a single result');
    return { status: response.http.status ?? 200, headers: response.http.headers, result: response.body.singleResult };
  }
  const ADD = 'mutation($amount: Int!, $key: String) { addPoints(amount: $amount, idempotencyKey: $key) }';

  it('executes once and replays, marked; another request under the key is 422', async () => {
    const key = randomUUID();
    const first = await send(ADD, { amount: 7, key });
    expect(first.result.data).toEqual({ addPoints: expect.any(Number) });
    expect(first.result.extensions).toEqual({ idempotency: [{ path: ['addPoints'], key, status: 'EXECUTED' }] });
    await redis.incrby(points, 100);

    const again = await send(ADD, { amount: 7, key });
    expect(again.result.data).toEqual(first.result.data);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.result.extensions).toEqual({ idempotency: [{ path: ['addPoints'], key, status: 'REPLAYED' }] });

    const reused = await send(ADD, { amount: 8, key });
    expect(reused.status).toBe(422);
    expect(reused.result.errors?.map((error) => error.extensions?.code)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
  });

  it('takes the key from the Idempotency-Key header, only on an operation with one mutation field', async () => {
    const key = randomUUID();
    const header: [string, string][] = [['idempotency-key', key]];
    const first = await send('mutation { addPoints(amount: 1) }', {}, header);
    const again = await send('mutation { addPoints(amount: 1) }', {}, header);
    expect(again.result.data).toEqual(first.result.data);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const two = await send('mutation { addPoints(amount: 1) other }', {}, header);
    expect(two.status).toBe(400);
    expect(two.result.errors?.map((error) => error.extensions?.code)).toEqual(['IDEMPOTENCY_KEY_INVALID']);
  });

  it('runs every time without a key', async () => {
    const first = await send(ADD, { amount: 2 });
    const second = await send(ADD, { amount: 2 });
    expect(Number(second.result.data?.addPoints)).toBe(Number(first.result.data?.addPoints) + 2);
    expect(second.headers.get('idempotent-replayed')).toBeUndefined();
  });
});
