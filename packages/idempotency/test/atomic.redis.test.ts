import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { arrayReply, integerReply } from '@onceql/redis-script';
import { defineAtomicScript, fingerprint, IdempotencyCall, withoutIdempotency } from '@onceql/idempotency';
import type { FieldStatus } from '@onceql/idempotency';

const url = process.env.ONCEQL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const CounterStatus = { ADDED: 1, TOO_BIG: 2 } as const;

/** A domain script on the atomic path: adds `amount` to a counter, refusing (recorded) past a limit. */
const addToCounter = defineAtomicScript({
  name: 'addToCounter',
  source: `
local replay = idem_begin()
if replay then
  return {replay, redis.call('GET', KEYS[2]) or '0'}
end
local nowMs = now_ms()
local amount = tonumber(ARGV[5])
if amount > tonumber(ARGV[6]) then
  return {idem_finish(nowMs, {TOO_BIG}, 'TOO_BIG', '')}
end
local total = redis.call('INCRBY', KEYS[2], amount)
return {idem_finish(nowMs, {ADDED, KEYS[2], total, nowMs, 'tail'}, '', KEYS[2]), tostring(total)}
`,
  keys: ['counter'],
  args: ['amount', 'limit'],
  constants: CounterStatus,
  decode: (domain, live, replayed) => {
    const status = integerReply('addToCounter', domain[0]);
    if (status === CounterStatus.TOO_BIG) return { status: 'tooBig' as const, replayed };
    const [, counterKey, total, atMs, tail] = domain;
    return { status: 'added' as const, counterKey, total: integerReply('addToCounter', total), atMs: integerReply('addToCounter', atMs), tail, now: String(arrayReply('addToCounter', live, 1)[0]), replayed };
  },
});

describe('defineAtomicScript (real Redis)', () => {
  let redis: Redis;
  const namespace = `idem-test:{${randomUUID()}}`;
  const counter = `${namespace}:counter`;

  beforeAll(() => {
    redis = new Redis(url);
  });
  afterAll(async () => {
    await redis.quit();
  });

  function call(key: string, amount: number): IdempotencyCall {
    return new IdempotencyCall(namespace, key, fingerprint('add', { amount }), 'add', 60);
  }
  const run = (idempotency: ReturnType<typeof call> | ReturnType<typeof withoutIdempotency>, amount: number, limit = 100) =>
    addToCounter.run(redis, idempotency, { counter }, { amount, limit });

  it('puts the record key first and its legacy name last, the idempotency ARGV first', () => {
    expect(addToCounter.name).toBe('addToCounter');
    expect(addToCounter.lua).toContain('local IDEM_REPLAYED = 2');
    expect(addToCounter.lua).toContain('local TOO_BIG = 2');
    expect(addToCounter.lua.match(/local function now_ms/g)).toHaveLength(1);
  });

  it('executes once, replays the recorded reply (live values read now), refuses another request under the key', async () => {
    const key = randomUUID();
    const first = call(key, 5);
    const executed = await run(first, 5);
    expect(executed).toEqual({ status: 'added', counterKey: counter, total: 5, atMs: expect.any(Number), tail: 'tail', now: '5', replayed: false });
    expect(first.status).toBe<FieldStatus>('EXECUTED');
    await redis.incrby(counter, 10); // someone else moves the counter

    const retry = call(key, 5);
    // The recorded reply exactly, the resource id and time included (v3 keeps those in its header
    // only and puts them back), and the live value as it is now.
    expect(await run(retry, 5)).toEqual({ ...executed, now: '15', replayed: true });
    expect((await redis.getBuffer(retry.recordKey))?.subarray(0, 1).toString()).toBe('3');
    expect(retry.status).toBe<FieldStatus>('REPLAYED');
    expect(await redis.get(counter)).toBe('15');

    await expect(run(call(key, 6), 6)).rejects.toMatchObject({ extensions: { code: 'IDEMPOTENCY_KEY_REUSED' } });
    expect(await redis.get(counter)).toBe('15');
  });

  it('records a refusal and replays it, even once it would pass', async () => {
    const key = randomUUID();
    expect(await run(call(key, 50), 50, 10)).toEqual({ status: 'tooBig', replayed: false });
    expect(await run(call(key, 50), 50, 1000)).toEqual({ status: 'tooBig', replayed: true });
  });

  it('without a key executes every time and records nothing', async () => {
    const before = Number(await redis.get(counter));
    const none = withoutIdempotency(namespace);
    await run(none, 1);
    await run(none, 1);
    expect(Number(await redis.get(counter))).toBe(before + 2);
    expect(await redis.exists(none.recordKey)).toBe(0);
  });

  it('refuses names of its own and a missing argument', () => {
    expect(() => defineAtomicScript({ name: 'x', source: '', keys: ['idempotencyRecord'], args: [], decode: () => null })).toThrow('is a name of the atomic path');
    expect(() => defineAtomicScript({ name: 'x', source: '', keys: [], args: ['idempotencyKey'], decode: () => null })).toThrow('is a name of the atomic path');
    expect(() => defineAtomicScript({ name: 'x', source: '', keys: [], args: [], constants: { IDEM_NONE: 7 }, decode: () => null })).toThrow('is one of the atomic path');
    return expect(addToCounter.run(redis, withoutIdempotency(namespace), { counter }, { amount: 1 } as never)).rejects.toThrow('argument limit is missing');
  });
});
