import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { defineAtomicScript, fingerprint, IdempotencyCall, readIdempotencyRecord } from '@onceql/idempotency';

const url = process.env.ONCEQL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * A domain script on the atomic path that counts its executions (INCR KEYS[2]) and ends with the
 * idem_finish call that ARGV[5] names, with ARGV[6] as a text to put in it: what a domain script
 * may hand idem_finish after its write.
 */
const finishWith = defineAtomicScript({
  name: 'finishWith',
  source: `
local replay = idem_begin()
if replay then return {replay} end
local nowMs = now_ms()
local n = redis.call('INCR', KEYS[2])
local case, text = ARGV[5], ARGV[6]
if case == 'nulls' then
  return {idem_finish(nowMs, {n, text, cjson.null, {cjson.null, 'x', {cjson.null, 'y'}}, 'after'}, '', text)}
elseif case == 'missingRow' then
  return {idem_finish(nowMs, {n}, '', redis.call('HGET', KEYS[2] .. ':row', 'id'))}
elseif case == 'nilId' then
  return {idem_finish(nowMs, {n, 'no id'}, nil, nil)}
elseif case == 'numberId' then
  return {idem_finish(nowMs, {n, tostring(n), n}, '', n)}
elseif case == 'numberCode' then
  return {idem_finish(nowMs, {n, 'refused'}, 7, false)}
elseif case == 'notTable' then
  return {idem_finish(tostring(nowMs), text, '', '')}
elseif case == 'newlineId' then
  return {idem_finish(nowMs, {n, text, nowMs, 'tail'}, '', text)}
elseif case == 'newlineCode' then
  return {idem_finish(nowMs, {n, text}, text, '')}
end
return {idem_finish(nowMs, {n, text}, '', text)}
`,
  keys: ['executions'],
  args: ['case', 'text'],
  decode: (domain) => domain,
});

describe('idem_finish records what it is given, and never fails after the write (real Redis)', () => {
  let redis: Redis;
  const namespace = `idem-test:{${randomUUID()}}`;

  beforeAll(() => {
    redis = new Redis(url);
  });
  afterAll(async () => {
    await redis.quit();
  });

  const call = (key: string, mutation = 'finishWith') => new IdempotencyCall(namespace, key, fingerprint(mutation, { key }), mutation, 60);

  /** Runs `case` twice under one key: the first answer, the retry's, how many times it executed, the look-up. */
  async function twice(kase: string, text = '') {
    const key = randomUUID();
    const executions = `${namespace}:n:${key}`;
    const first = await finishWith.run(redis, call(key), { executions }, { case: kase, text });
    const retry = call(key);
    const replay = await finishWith.run(redis, retry, { executions }, { case: kase, text });
    expect(retry.status).toBe('REPLAYED');
    return { first, replay, executed: Number(await redis.get(executions)), record: await readIdempotencyRecord(redis, namespace, key) };
  }

  it('replays a reply holding cjson.null (nested too) exactly as it first answered', async () => {
    const { first, replay, executed } = await twice('nulls', 'r1');
    // cjson.null and false are both nil to a client; cmsgpack kept a hole that cut the replay.
    expect(first).toEqual([1, 'r1', null, [null, 'x', [null, 'y']], 'after']);
    expect(replay).toEqual(first);
    expect(executed).toBe(1);
  });
});
