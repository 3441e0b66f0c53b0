import { arrayReply, CLOCK_LUA, defineScript, integerReply, ScriptReplyError } from '@onceql/redis-script';
import type { ScriptClient } from '@onceql/redis-script';
import { BUDGET_LUA, packageLua } from './lua';

/** Status codes of take_budget.lua, shared with its Lua. */
export const BUDGET_STATUS = { ALLOWED: 1, THROTTLED: 0 } as const;

export interface BudgetDecision {
  /** True: the points were taken. False: nothing was written. */
  readonly allowed: boolean;
  /** Whole points left after this call. */
  readonly available: number;
  /** When throttled: until the cost fits (ms); 0 when allowed. */
  readonly retryAfterMs: number;
}

/** take_budget.lua: take points from a budget, on Redis time. */
export const takeBudgetScript = defineScript({
  name: 'costBudgetTake',
  source: [CLOCK_LUA, BUDGET_LUA, packageLua('take_budget.lua')],
  keys: ['budget'],
  args: ['cost', 'maximum', 'restorePerSecond'],
  constants: BUDGET_STATUS,
  decode(reply: unknown): BudgetDecision {
    const [status, available, retryAfterMs] = arrayReply('costBudgetTake', reply, 3);
    if (typeof available !== 'number' || typeof retryAfterMs !== 'number') throw new ScriptReplyError('costBudgetTake', 'wanted three integers');
    if (status === BUDGET_STATUS.ALLOWED) return { allowed: true, available, retryAfterMs: 0 };
    if (status === BUDGET_STATUS.THROTTLED) return { allowed: false, available, retryAfterMs };
    throw new ScriptReplyError('costBudgetTake', `status ${String(status)}`);
  },
});

/** refund_budget.lua: give unused points back, never above the maximum; the points available after. */
export const refundBudgetScript = defineScript({
  name: 'costBudgetRefund',
  source: [CLOCK_LUA, BUDGET_LUA, packageLua('refund_budget.lua')],
  keys: ['budget'],
  args: ['points', 'maximum', 'restorePerSecond'],
  decode: (reply: unknown): number => integerReply('costBudgetRefund', reply),
});

export interface CostBudgetOptions {
  /** Points of a full budget (Shopify's `maximumAvailable`), > 0. */
  readonly maximum: number;
  /** Points restored per second, > 0. */
  readonly restorePerSecond: number;
  /** Put in front of every key. Default `''`. */
  readonly prefix?: string;
}

/**
 * A cost budget per key on Redis: `maximum` points that restore at `restorePerSecond`, on Redis
 * time. A query is charged its estimated cost before it runs (`take`), and what it did not use
 * goes back after (`refund`), as Shopify's and GitHub's GraphQL APIs do.
 */
export class CostBudget {
  readonly maximum: number;
  readonly restorePerSecond: number;
  readonly prefix: string;

  constructor(
    private readonly redis: ScriptClient,
    options: CostBudgetOptions,
  ) {
    for (const name of ['maximum', 'restorePerSecond'] as const) {
      const value = options[name];
      if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) throw new TypeError(`CostBudget: ${name} must be a number above 0, got ${String(value)}`);
    }
    this.maximum = options.maximum;
    this.restorePerSecond = options.restorePerSecond;
    this.prefix = options.prefix ?? '';
  }

  /** Takes `cost` points for `key` if they are available now (0: only look). A cost above the maximum is a TypeError. */
  take(key: string, cost: number): Promise<BudgetDecision> {
    if (!(Number.isFinite(cost) && cost >= 0 && cost <= this.maximum)) throw new TypeError(`CostBudget.take: cost must be from 0 to maximum (${this.maximum}), got ${String(cost)}`);
    return takeBudgetScript.run(this.redis, { budget: this.prefix + key }, { cost, maximum: this.maximum, restorePerSecond: this.restorePerSecond });
  }

  /** Gives `points` back to `key`'s budget, never above the maximum. The points available after; NaN for no points (nothing sent). */
  async refund(key: string, points: number): Promise<number> {
    if (!(points > 0)) return Number.NaN;
    return refundBudgetScript.run(this.redis, { budget: this.prefix + key }, { points, maximum: this.maximum, restorePerSecond: this.restorePerSecond });
  }
}
