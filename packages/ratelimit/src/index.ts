// @onceql/ratelimit: rate limits and query cost for Apollo Server on Redis.

// The standalone limiter and the cost budget (one script each, on Redis time).
export type { RateLimitDecision, RateLimiterOptions } from './limiter';
export { CONSUME_STATUS, consumeScript, RateLimiter } from './limiter';
export type { BudgetDecision, CostBudgetOptions } from './budget';
export { BUDGET_STATUS, CostBudget, refundBudgetScript, takeBudgetScript } from './budget';

// The composition point: Lua fragments for a script of your own.
export { BUDGET_LUA, GCRA_LUA } from './lua';

// Cost analysis (IBM @cost / @listSize), before and after execution.
export type { QueryAnalysis, QueryLimits } from './analyze';
export { analyzeQuery, DEFAULT_QUERY_LIMITS } from './analyze';
export { actualQueryCost } from './actual';
export { COST_DIRECTIVES, costDirective, listSizeDirective } from './directives';
export { parseRemembered } from './parsed-documents';
export type { VariableLimits } from './variables';
export { checkVariables, DEFAULT_VARIABLE_LIMITS } from './variables';
export type { IntrospectionWeights } from './weights';
export { DEFAULT_LIST_SIZE, DEFAULT_WEIGHTS, introspectionWeights } from './weights';

// Response headers and the Apollo plugin that reports and refunds cost.
export type { Admission, CostPluginOptions } from './headers';
export { costExtension, costPlugin, rateLimitHeaders } from './headers';
