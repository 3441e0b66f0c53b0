import { Redis } from 'ioredis';
import { CLOCK_LUA, defineScript, arrayReply } from '@onceql/redis-script';
import { CostBudget, GCRA_LUA, RateLimiter } from '@onceql/ratelimit';

const url = process.env.ONCEQL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
let prefixes = 0;
/** A fresh key prefix per limiter: no test sees another's state. */
const fresh = () => `rl-test:${process.pid}:${Date.now()}:${(prefixes += 1)}:`;

/** A rate so slow that nothing refills while a test runs: one unit per 1000 s. */
const FROZEN = 0.001;

describe('RateLimiter (GCRA on Redis time)', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(url);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('admits exactly `burst` of many concurrent decisions when nothing refills, counting down `remaining`', async () => {
    const limiter = new RateLimiter(redis, { ratePerSecond: FROZEN, burst: 5, prefix: fresh() });
    const decisions = await Promise.all(Array.from({ length: 40 }, () => limiter.consume('k')));
    const allowed = decisions.filter((d) => d.allowed);
    expect(allowed).toHaveLength(5);
    expect(allowed.map((d) => d.remaining).sort()).toEqual([0, 1, 2, 3, 4]);
    for (const refused of decisions.filter((d) => !d.allowed)) {
      expect(refused.remaining).toBe(0);
      // The next unit is one interval (1000 s) after the first decision, less the time gone by.
      expect(refused.retryAfterMs).toBeGreaterThan(0);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(1_000_000);
    }
    // Full again 5 intervals after the first decision.
    expect(Math.max(...allowed.map((d) => d.resetMs))).toBeLessThanOrEqual(5_000_000);
    expect(Math.max(...allowed.map((d) => d.resetMs))).toBeGreaterThan(4_000_000);
  });

  it('keeps keys apart, and reset() fills a bucket again', async () => {
    const limiter = new RateLimiter(redis, { ratePerSecond: FROZEN, burst: 1, prefix: fresh() });
    expect((await limiter.consume('a')).allowed).toBe(true);
    expect((await limiter.consume('a')).allowed).toBe(false);
    expect((await limiter.consume('b')).allowed).toBe(true);
    await limiter.reset('a');
    expect((await limiter.consume('a')).allowed).toBe(true);
  });

  it('overwrites a bucket in an older format (a TAT in ms with decimals) instead of failing on it', async () => {
    const prefix = fresh();
    await redis.set(`${prefix}k`, `${Date.now()}.000`, 'PX', 60_000);
    const limiter = new RateLimiter(redis, { ratePerSecond: FROZEN, burst: 2, prefix });
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 1 });
    expect(await limiter.consume('k')).toMatchObject({ allowed: true, remaining: 0 });
    expect((await limiter.consume('k')).allowed).toBe(false);
    // The key outlives its TAT (2 intervals: 2000 s ahead) by at least a window (the bucket's
    // 2000 s + 1 s) and at most two: never gone while its state matters, never kept for long.
    const ttlMs = await redis.pttl(`${prefix}k`);
    expect(ttlMs).toBeGreaterThan(2_000_000 + 2_001_000 - 1000);
    expect(ttlMs).toBeLessThanOrEqual(2_000_000 + 2 * 2_001_000);
  });

  it('takes a cost of several units, all or nothing', async () => {
    const limiter = new RateLimiter(redis, { ratePerSecond: FROZEN, burst: 10, prefix: fresh() });
    const first = await limiter.consume('k', 4);
    expect([first.allowed, first.remaining]).toEqual([true, 6]);
    expect((await limiter.consume('k', 4)).remaining).toBe(2);
    const refused = await limiter.consume('k', 4);
    expect([refused.allowed, refused.remaining]).toEqual([false, 2]);
    // A refusal took nothing: the 2 left are still there.
    expect(await limiter.consume('k', 2)).toMatchObject({ allowed: true, remaining: 0 });
    expect((await limiter.consume('k')).allowed).toBe(false);
    // Cost 0 only looks.
    expect(await limiter.consume('k', 0)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('refuses options and costs that could never work, naming the fix', () => {
    expect(() => new RateLimiter(redis, { ratePerSecond: 0 })).toThrow(/ratePerSecond must be a number above 0/);
    expect(() => new RateLimiter(redis, { ratePerSecond: 10, burst: 0 })).toThrow(/burst must be a whole number from 1/);
    expect(() => new RateLimiter(redis, { ratePerSecond: 10, burst: 2.5 })).toThrow(/burst/);
    const limiter = new RateLimiter(redis, { ratePerSecond: 10, burst: 3 });
    expect(() => limiter.consume('k', 4)).toThrow(/cost must be a whole number from 0 to burst \(3\)/);
    expect(() => limiter.consume('k', -1)).toThrow(/cost/);
    expect(new RateLimiter(redis, { ratePerSecond: 2.5 }).burst).toBe(3);
  });

  /**
   * Exactness under load, counted: 8 callers in a loop against 200/s, burst 10. A decision sent
   * at client time s and answered at r was made by Redis in between; so the decisions sent at or
   * after a and answered by b were all made within b - a (+1 ms: Redis time is read in whole ms),
   * and GCRA must have admitted at most rate · (b - a + 1) / 1000 + burst of them. Every window
   * from an admitted decision's send to another's answer is checked. A fixed-window limiter
   * fails this (up to twice its limit across a boundary).
   */
  it('never admits more than rate · T + burst in any window, under concurrent load', async () => {
    const rate = 200;
    const burst = 10;
    const limiter = new RateLimiter(redis, { ratePerSecond: rate, burst, prefix: fresh() });
    const admitted: { sent: number; answered: number }[] = [];
    let decisions = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (admitted.length < 150 && decisions < 200_000) {
          const sent = performance.now();
          const decision = await limiter.consume('k');
          decisions += 1;
          if (decision.allowed) admitted.push({ sent, answered: performance.now() });
        }
      }),
    );
    expect(admitted.length).toBeGreaterThanOrEqual(150);
    // Refusals happened: the callers asked for more than the rate.
    expect(decisions).toBeGreaterThan(admitted.length);
    let worst = -Infinity;
    for (const from of admitted) {
      for (const to of admitted) {
        if (to.answered < from.sent) continue;
        const inside = admitted.filter((d) => d.sent >= from.sent && d.answered <= to.answered).length;
        const bound = (rate * (to.answered - from.sent + 1)) / 1000 + burst;
        worst = Math.max(worst, inside - bound);
      }
    }
    expect(worst).toBeLessThanOrEqual(0);
  });

  it('shares one bucket between limiters (processes) on the same prefix', async () => {
    const prefix = fresh();
    const other = new Redis(url);
    try {
      const [one, two] = [new RateLimiter(redis, { ratePerSecond: FROZEN, burst: 3, prefix }), new RateLimiter(other, { ratePerSecond: FROZEN, burst: 3, prefix })];
      const decisions = await Promise.all([...Array.from({ length: 5 }, () => one.consume('k')), ...Array.from({ length: 5 }, () => two.consume('k'))]);
      expect(decisions.filter((d) => d.allowed)).toHaveLength(3);
    } finally {
      await other.quit();
    }
  });
});

describe('the composition point: GCRA_LUA in a script of your own', () => {
  // Charges two buckets both or neither, in one round trip (as onceql's admit charges a tenant's
  // bucket and a key's own).
  const both = defineScript({
    name: 'bothBuckets',
    source: [CLOCK_LUA, GCRA_LUA, `
      local now = now_ms()
      local a = rl_gcra(KEYS[1], tonumber(ARGV[1]), 2, 1, now, false)
      local b = rl_gcra(KEYS[2], tonumber(ARGV[1]), 3, 1, now, false)
      if not (a and b) then return {0} end
      rl_gcra(KEYS[1], tonumber(ARGV[1]), 2, 1, now, true)
      rl_gcra(KEYS[2], tonumber(ARGV[1]), 3, 1, now, true)
      return {1}`],
    keys: ['first', 'second'],
    args: ['ratePerSecond'],
    decode: (reply) => arrayReply('bothBuckets', reply, 1)[0] === 1,
  });

  it('charges both buckets or neither', async () => {
    const redis = new Redis(url);
    try {
      const prefix = fresh();
      const run = () => both.run(redis, { first: `${prefix}a`, second: `${prefix}b` }, { ratePerSecond: FROZEN });
      expect([await run(), await run(), await run()]).toEqual([true, true, false]);
      // The second bucket (burst 3) kept its third unit: the refusal charged neither.
      const limiter = new RateLimiter(redis, { ratePerSecond: FROZEN, burst: 3, prefix });
      expect(await limiter.consume('b')).toMatchObject({ allowed: true, remaining: 0 });
    } finally {
      await redis.quit();
    }
  });
});

describe('CostBudget', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(url);
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('takes what fits, refuses what does not (taking nothing), refunds up to the maximum', async () => {
    const budget = new CostBudget(redis, { maximum: 100, restorePerSecond: FROZEN, prefix: fresh() });
    expect(await budget.take('t', 30)).toEqual({ allowed: true, available: 70, retryAfterMs: 0 });
    const refused = await budget.take('t', 80);
    expect([refused.allowed, refused.available]).toEqual([false, 70]);
    // 10 points at 0.001/s: 10,000 s.
    expect(refused.retryAfterMs).toBeGreaterThan(9_000_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(10_000_000);
    expect(await budget.take('t', 0)).toMatchObject({ allowed: true, available: 70 });
    expect(await budget.refund('t', 20)).toBe(90);
    expect(await budget.refund('t', 50)).toBe(100);
    expect(await budget.refund('t', 0)).toBeNaN();
    expect(() => budget.take('t', 101)).toThrow(/cost must be from 0 to maximum \(100\)/);
  });

  it('never lets concurrent takes overdraw the budget', async () => {
    const budget = new CostBudget(redis, { maximum: 100, restorePerSecond: FROZEN, prefix: fresh() });
    const decisions = await Promise.all(Array.from({ length: 30 }, () => budget.take('t', 7)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(14);
    expect(Math.min(...decisions.map((d) => d.available))).toBe(2);
  });
});
