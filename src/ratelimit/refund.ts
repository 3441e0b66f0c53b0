import type { RedisClient } from '../redis/client';
import { tenantKeys } from '../redis/keys';
import { runScript } from '../redis/scripts';

/** The budget a refund goes back into (QUERY_COST_BUDGET, QUERY_COST_RESTORE_PER_SECOND). */
export interface CostBudget {
  readonly queryCostBudget: number;
  readonly queryCostRestorePerSecond: number;
}

/**
 * Gives `points` back to the tenant's query-cost budget (one script, one round trip): the part of
 * a charged estimate the query did not use. Returns the points available after it.
 */
export async function refundQueryCost(redis: RedisClient, tenantId: string, points: number, budget: CostBudget): Promise<number> {
  if (!(points > 0)) return Number.NaN;
  const reply = await runScript(redis, 'refundCost', [tenantKeys(tenantId).costBudget], [points, budget.queryCostBudget, budget.queryCostRestorePerSecond]);
  return Number(reply);
}
