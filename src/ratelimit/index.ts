export type { QueryAnalysis, QueryLimits } from './analyze';
export { analyzeQuery, DEFAULT_QUERY_LIMITS } from './analyze';
export type { Admission } from './headers';
export { costExtension, costPlugin, rateLimitHeaders } from './headers';
