import { arrayReply, callScript, CLOCK_LUA, defineScript, ScriptReplyError } from '@onceql/redis-script';
import type { ScriptClient } from '@onceql/redis-script';
import { GCRA_LUA, packageLua } from './lua';

/** Status codes of consume.lua, shared with its Lua (`local ALLOWED = 1`…). */
export const CONSUME_STATUS = { ALLOWED: 1, LIMITED: 0 } as const;

/** One decision of {@link RateLimiter.consume}. */
export interface RateLimitDecision {
  /** True: the units were taken. False: nothing was written. */
  readonly allowed: boolean;
  /** Units admissible right now, after this decision. */
  readonly remaining: number;
  /** Until the bucket is full again (ms). */
  readonly resetMs: number;
  /** When refused: until this cost fits (ms); 0 when allowed. */
  readonly retryAfterMs: number;
}

/** consume.lua: one GCRA decision on Redis time, one round trip. */
export const consumeScript = defineScript({
  name: 'rateLimitConsume',
  source: [CLOCK_LUA, GCRA_LUA, packageLua('consume.lua')],
  keys: ['bucket'],
  args: ['ratePerSecond', 'burst', 'cost'],
  constants: CONSUME_STATUS,
  decode(reply: unknown): RateLimitDecision {
    const [status, remaining, resetMs, retryAfterMs] = arrayReply('rateLimitConsume', reply, 4);
    if (typeof remaining !== 'number' || typeof resetMs !== 'number' || typeof retryAfterMs !== 'number') throw new ScriptReplyError('rateLimitConsume', 'wanted four integers');
    if (status === CONSUME_STATUS.ALLOWED) return { allowed: true, remaining, resetMs, retryAfterMs: 0 };
    if (status === CONSUME_STATUS.LIMITED) return { allowed: false, remaining, resetMs, retryAfterMs };
    throw new ScriptReplyError('rateLimitConsume', `status ${String(status)}`);
  },
});

export interface RateLimiterOptions {
  /** Units (requests) restored per second, > 0; may be a fraction (0.5: one every 2 s). */
  readonly ratePerSecond: number;
  /**
   * Units admissible at once, a whole number ≥ 1 (1: no burst). Over any interval of T seconds
   * at most `ratePerSecond · T + burst` units are admitted. Default: `max(1, ceil(ratePerSecond))`.
   */
  readonly burst?: number;
  /** Put in front of every key (e.g. `rl:api:`). Default `''`. With Redis Cluster, hash-tag your keys. */
  readonly prefix?: string;
}

/**
 * A rate limiter on Redis: GCRA (generic cell rate algorithm) on Redis time, one EVALSHA per
 * decision, shared by every process that uses the same Redis and prefix. Exact: over any interval
 * of T seconds it admits at most `ratePerSecond · T + burst` units, with no window boundaries
 * (a fixed window admits up to twice its limit across a boundary).
 *
 * ```ts
 * const limiter = new RateLimiter(redis, { ratePerSecond: 100, burst: 20, prefix: 'rl:' });
 * const { allowed, retryAfterMs } = await limiter.consume(`user:${userId}`);
 * ```
 */
export class RateLimiter {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly prefix: string;
  // ARGV of a decision of cost 1, in Redis order, written once: the usual decision formats nothing.
  private readonly oneUnitArgs: readonly string[];

  constructor(
    private readonly redis: ScriptClient,
    options: RateLimiterOptions,
  ) {
    const { ratePerSecond, prefix = '' } = options;
    if (!(typeof ratePerSecond === 'number' && Number.isFinite(ratePerSecond) && ratePerSecond > 0 && ratePerSecond <= 1_000_000)) {
      throw new TypeError(`RateLimiter: ratePerSecond must be a number above 0 and at most 1000000, got ${String(ratePerSecond)}`);
    }
    const burst = options.burst ?? Math.max(1, Math.ceil(ratePerSecond));
    if (!Number.isInteger(burst) || burst < 1) throw new TypeError(`RateLimiter: burst must be a whole number from 1, got ${String(burst)}`);
    // The Lua keeps µs in whole numbers below 2^53: the bucket's span must stay under 1e15 µs.
    if (Math.ceil(1_000_000 / ratePerSecond) * burst > 1e15) throw new TypeError(`RateLimiter: burst / ratePerSecond must stay under 1e9 seconds, got ${burst} / ${ratePerSecond}`);
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.prefix = prefix;
    this.oneUnitArgs = consumeScript.encode({ bucket: '' }, { ratePerSecond: String(ratePerSecond), burst: String(burst), cost: '1' }).args as readonly string[];
  }

  /**
   * Takes `cost` units (default 1) for `key`, if they fit now; otherwise takes nothing. A cost
   * above `burst` could never fit: that is a TypeError, not a refusal.
   */
  consume(key: string, cost = 1): Promise<RateLimitDecision> {
    if (cost !== 1 && !(Number.isInteger(cost) && cost >= 0 && cost <= this.burst)) {
      throw new TypeError(`RateLimiter.consume: cost must be a whole number from 0 to burst (${this.burst}), got ${String(cost)}`);
    }
    // consumeScript's own call, positional: this is the hot path, so no name-to-position mapping
    // per decision (`consumeScript.run` does the same with named keys and arguments).
    const args = cost === 1 ? this.oneUnitArgs : consumeScript.encode({ bucket: '' }, { ratePerSecond: String(this.ratePerSecond), burst: String(this.burst), cost: String(cost) }).args;
    return callScript(this.redis, consumeScript, { keys: [this.prefix + key], args }).then(consumeScript.decode);
  }

  /** Forgets `key`'s state: its bucket is full again. */
  async reset(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }
}
