import { Redis } from 'ioredis';
import { arrayReply, CLOCK_LUA, defineScript, integerReply, ScriptReplyError, useScriptMiddleware } from '@onceql/redis-script';

const url = process.env.ONCEQL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `rs-test:${process.pid}:${Date.now()}`;

const Status = { ADDED: 1, PRESENT: 2 } as const;

const addOnce = defineScript({
  name: 'addOnce',
  source: [CLOCK_LUA, "if redis.call('SET', KEYS[1], ARGV[1], 'NX') then return {ADDED, now_ms()} end return {PRESENT, now_ms()}", CLOCK_LUA],
  keys: ['target'],
  args: ['value'],
  constants: Status,
  decode: (reply) => {
    const [status, nowMs] = arrayReply('addOnce', reply, 2);
    return { status: integerReply('addOnce', status), nowMs: integerReply('addOnce', nowMs) };
  },
});

const count = defineScript({
  name: 'count',
  source: 'return #KEYS + #ARGV',
  keys: 'variadic',
  args: ['one'],
  decode: (reply) => integerReply('count', reply),
});

describe('defineScript', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(url);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('sends named keys and arguments in order, with the constants and the clock defined once', async () => {
    expect(addOnce.lua.match(/local function now_ms/g)).toHaveLength(1);
    expect(addOnce.lua.startsWith('local ADDED = 1\nlocal PRESENT = 2\n')).toBe(true);
    const first = await addOnce.run(redis, { target: `${prefix}:a` }, { value: 'x' });
    const second = await addOnce.run(redis, { target: `${prefix}:a` }, { value: 'y' });
    expect(first.status).toBe(Status.ADDED);
    expect(second.status).toBe(Status.PRESENT);
    expect(await redis.get(`${prefix}:a`)).toBe('x');
    const [seconds] = await redis.time();
    expect(Math.abs(second.nowMs - Number(seconds) * 1000)).toBeLessThan(5000);
  });

  it('sends EVAL on a connection\'s first call, EVALSHA after', async () => {
    // A script no server has seen (never SCRIPT FLUSH: other suites share this server).
    const fresh = defineScript({ name: 'fresh', source: `-- ${prefix}\nreturn #KEYS + #ARGV`, keys: 'variadic', args: ['one'], decode: (reply) => integerReply('fresh', reply) });
    const before = await redis.info('commandstats');
    expect(await fresh.run(redis, [`${prefix}:1`, `${prefix}:2`], { one: 1 })).toBe(3);
    expect(await fresh.run(redis, [`${prefix}:1`], { one: 1 })).toBe(2);
    const after = await redis.info('commandstats');
    const calls = (text: string, command: string) => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(text)?.[1] ?? 0);
    expect(calls(after, 'eval') - calls(before, 'eval')).toBe(1);
    expect(calls(after, 'evalsha') - calls(before, 'evalsha')).toBe(1);
  });

  it('refuses a missing key or argument before anything is sent', async () => {
    expect(() => addOnce.encode({} as never, { value: 'x' })).toThrow(/key target is missing/);
    expect(() => addOnce.encode({ target: 'k' }, {} as never)).toThrow(/argument value is missing/);
    // null is not a value either: ioredis would send it as "".
    expect(() => addOnce.encode({ target: 'k' }, { value: null } as never)).toThrow(/argument value is missing/);
  });

  it('decoders refuse a reply they do not expect', () => {
    expect(() => addOnce.decode('nope')).toThrow(ScriptReplyError);
  });

  it('runs middleware around each call, the last added outermost', async () => {
    const client = new Redis(url);
    const seen: string[] = [];
    useScriptMiddleware(client, async (script, call, next) => {
      seen.push(`inner ${script.name} ${call.keys.length}`);
      return next();
    });
    useScriptMiddleware(client, async (script, _call, next) => {
      seen.push(`outer ${script.name}`);
      return next();
    });
    expect(await count.run(client, ['a', 'b', 'c'], { one: 'x' })).toBe(4);
    expect(seen).toEqual(['outer count', 'inner count 3']);
    await client.quit();
  });
});
