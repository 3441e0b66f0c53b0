import type { ApolloServerPlugin } from '@apollo/server';

/** What the admit step decided about one request's rate limit and cost budget. */
export interface Admission {
  /** Requests per second that applied (the key's own, else the tenant's). */
  readonly ratePerSecond: number;
  /** Requests admissible right now. */
  readonly remaining: number;
  /** Until the request bucket is full again. */
  readonly resetMs: number;
  /** The query's estimated cost. */
  readonly requestedQueryCost: number;
  readonly maximumAvailable: number;
  /** Points left in the tenant's budget after this request. */
  readonly currentlyAvailable: number;
  readonly restoreRate: number;
}

/**
 * `RateLimit-Policy` and `RateLimit` in the syntax of draft-ietf-httpapi-ratelimit-headers-11:
 * `"tenant";q=<rate>;w=1` and `"tenant";r=<left now>;t=<seconds until full>`.
 */
export function rateLimitHeaders(admission: Admission): [string, string][] {
  return [
    ['ratelimit-policy', `"tenant";q=${admission.ratePerSecond};w=1`],
    ['ratelimit', `"tenant";r=${admission.remaining};t=${Math.max(0, Math.ceil(admission.resetMs / 1000))}`],
  ];
}

/** `extensions.cost` of a response, Shopify-style. */
export function costExtension(admission: Admission): Record<string, unknown> {
  return {
    requestedQueryCost: admission.requestedQueryCost,
    throttleStatus: {
      maximumAvailable: admission.maximumAvailable,
      currentlyAvailable: admission.currentlyAvailable,
      restoreRate: admission.restoreRate,
    },
  };
}

/**
 * Puts `extensions.cost` on every response of an admitted request. The HTTP layer, which ran the
 * admit step before Apollo, hands the admission over through the context.
 */
export function costPlugin<TContext extends object>(admissionOf: (context: TContext) => Admission | undefined): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart({ contextValue }) {
      return {
        async willSendResponse({ response }) {
          const admission = admissionOf(contextValue);
          if (admission === undefined || response.body.kind !== 'single') return;
          response.body.singleResult.extensions = { ...response.body.singleResult.extensions, cost: costExtension(admission) };
        },
      };
    },
  };
}
