import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { defineAtomicScript, fingerprint, IdempotencyCall, LeasedIdempotency, readIdempotencyRecord } from '@onceql/idempotency';
import type { AtomicIdempotency } from '@onceql/idempotency';

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

  it('records a resource id or error code that is nil, false or a number, once', async () => {
    const missingRow = await twice('missingRow');
    expect(missingRow).toMatchObject({ replay: missingRow.first, executed: 1, record: { outcome: 'SUCCEEDED', resourceId: null, replayCount: 1 } });

    const nilId = await twice('nilId');
    expect(nilId).toMatchObject({ replay: [1, 'no id'], executed: 1, record: { outcome: 'SUCCEEDED', errorCode: null, resourceId: null } });

    // A number is its digits; the reply's '1' is the header's (kept once), its 1 stays a number.
    const numberId = await twice('numberId');
    expect(numberId).toMatchObject({ first: [1, '1', 1], replay: [1, '1', 1], executed: 1, record: { resourceId: '1' } });

    const numberCode = await twice('numberCode');
    expect(numberCode).toMatchObject({ replay: [1, 'refused'], executed: 1, record: { outcome: 'FAILED', errorCode: '7', resourceId: null } });

    // Not a table, and a time given as text: still recorded, replayed as first answered.
    const notTable = await twice('notTable', 'just text');
    expect(notTable).toMatchObject({ first: ['just text'], replay: ['just text'], executed: 1, record: { outcome: 'SUCCEEDED' } });
  });

  it('a newline in the resource id or error code: the reply keeps it, the header holds a space', async () => {
    const id = await twice('newlineId', 'order\n42');
    expect(id.first).toEqual([1, 'order\n42', expect.any(Number), 'tail']);
    expect(id.replay).toEqual(id.first);
    expect(id).toMatchObject({ executed: 1, record: { outcome: 'SUCCEEDED', resourceId: 'order 42', replayCount: 1 } });

    const code = await twice('newlineCode', 'BAD\nCODE');
    expect(code).toMatchObject({ first: [1, 'BAD\nCODE'], replay: [1, 'BAD\nCODE'], executed: 1, record: { outcome: 'FAILED', errorCode: 'BAD CODE' } });

    // A third call still replays (the header was rewritten with replayCount 2).
    const key = randomUUID();
    const executions = `${namespace}:n:${key}`;
    for (let i = 0; i < 3; i++) await finishWith.run(redis, call(key), { executions }, { case: 'newlineId', text: '\nx\n' });
    expect(await redis.get(executions)).toBe('1');
    expect(await readIdempotencyRecord(redis, namespace, key)).toMatchObject({ resourceId: ' x ', replayCount: 2 });
  });

  describe('refuses, before any write, what it could not record', () => {
    const invalid: [string, (key: string) => AtomicIdempotency['scriptArgs'], RegExp][] = [
      ['a fingerprint longer than 255 bytes', (key) => [key, 'f'.repeat(256), 'finishWith', '60000'], /fingerprint is 256 bytes, at most 255/],
      ['a mutation name with a newline', (key) => [key, fingerprint('finishWith', {}), 'finish\nWith', '60000'], /mutation name.*contains a newline/],
      ['a retention that is not a number', (key) => [key, fingerprint('finishWith', {}), 'finishWith', 'soon'], /retention must be 1\.\.\d+ ms/],
    ];

    it.each(invalid)('%s: run() throws a TypeError and sends nothing', async (_, scriptArgs, message) => {
      const key = randomUUID();
      const executions = `${namespace}:n:${key}`;
      const idempotency: AtomicIdempotency = { recordKey: `${namespace}:i:${key}`, legacyRecordKey: `${namespace}:idem:${key}`, scriptArgs: scriptArgs(key), settle: () => undefined };
      await expect(finishWith.run(redis, idempotency, { executions }, { case: 'plain', text: 'r' })).rejects.toThrow(TypeError);
      await expect(finishWith.run(redis, idempotency, { executions }, { case: 'plain', text: 'r' })).rejects.toThrow(message);
      expect(await redis.exists(executions, idempotency.recordKey)).toBe(0);
    });

    it.each(invalid)('%s: idem_begin refuses it when the script is sent as is', async (_, scriptArgs, message) => {
      const key = randomUUID();
      const executions = `${namespace}:n:${key}`;
      const recordKey = `${namespace}:i:${key}`;
      for (let i = 0; i < 2; i++) {
        await expect(redis.eval(finishWith.lua, 3, recordKey, executions, `${namespace}:idem:${key}`, ...scriptArgs(key), 'plain', 'r')).rejects.toThrow(message);
      }
      expect(await redis.exists(executions, recordKey)).toBe(0);
    });

    it('a request without a key is not checked (nothing is recorded)', async () => {
      const executions = `${namespace}:n:${randomUUID()}`;
      const none: AtomicIdempotency = { recordKey: `${namespace}:i:-`, legacyRecordKey: `${namespace}:idem:-`, scriptArgs: ['', '', 'finish\nWith', '0'], settle: () => undefined };
      expect(await finishWith.run(redis, none, { executions }, { case: 'plain', text: 'r' })).toEqual([1, 'r']);
    });
  });

  it('a key completed on the leased path is refused on the atomic path (422), not "in progress" forever (409)', async () => {
    // A field must not change path within ttlSeconds (README): the atomic path cannot replay a leased result.
    const key = randomUUID();
    const executions = `${namespace}:n:${key}`;
    const leased = new LeasedIdempotency({ redis, leaseMs: 10_000, waitMs: 0, ttlSeconds: 60 });
    try {
      const first = call(key);
      await leased.execute({ namespace, key, fingerprint: first.fingerprint, mutation: first.mutation }, () => Promise.resolve({ id: 'o1' }));
    } finally {
      await leased.close();
    }
    await expect(finishWith.run(redis, call(key), { executions }, { case: 'plain', text: 'r' })).rejects.toMatchObject({ extensions: { code: 'IDEMPOTENCY_KEY_REUSED' } });
    expect(await redis.get(executions)).toBeNull();
  });
});
