import type { ApolloServerPlugin, GraphQLRequest } from '@apollo/server';
import { getVariableValues } from 'graphql';
import type { GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { actualQueryCost, countReadsVariables } from './actual';

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

/**
 * `extensions.cost` of a response, Shopify-style. `actualQueryCost` is what the query used, by the
 * same rules on the real lists of the answer; null when nothing executed (a refusal).
 */
export function costExtension(admission: Admission, actualQueryCost: number | null = null): Record<string, unknown> {
  return {
    requestedQueryCost: admission.requestedQueryCost,
    actualQueryCost,
    throttleStatus: {
      maximumAvailable: admission.maximumAvailable,
      currentlyAvailable: admission.currentlyAvailable,
      restoreRate: admission.restoreRate,
    },
  };
}

export interface CostPluginOptions<TContext> {
  /** The admission the admit step handed over through the context; none: nothing to report. */
  admissionOf(context: TContext): Admission | undefined;
  /**
   * Gives unused points (requested − actual) back to the budget. Called after execution and not
   * awaited: the response does not wait for it; a failure is logged at warn. Default: no refund.
   */
  refund?(context: TContext, points: number): Promise<unknown>;
  /**
   * The request's variables as execution coerced them, if the app has them already (a plugin of its
   * own that coerced them before execution): the actual cost then does not coerce them again. Read
   * only for a document whose `@skip`/`@include` take a variable (no other count reads them).
   * Default: the plugin coerces them itself, for such documents only.
   */
  coercedVariablesOf?(context: TContext, request: GraphQLRequest): Record<string, unknown> | undefined;
}

/**
 * The variables as execution coerced them (the operation's defaults applied: `@skip(if: $s)` with
 * `$s: Boolean = false` and no variables sent reads `false`). Throws when they do not coerce (then
 * nothing executed).
 */
function coerceVariables(schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Record<string, unknown>): Record<string, unknown> {
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 1 });
  if (coerced.errors !== undefined) throw new Error(`the variables do not coerce: ${coerced.errors[0]?.message ?? 'no message'}`);
  return coerced.coerced;
}

/**
 * Puts `extensions.cost` on every response of an admitted request and refunds what the query did
 * not use: the budget was charged the estimate (an upper bound) before execution; after it, the
 * actual cost is counted on the answer (actual.ts) and the difference goes back.
 */
export function costPlugin<TContext extends object>(options: CostPluginOptions<TContext>): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue, document, operation, request, schema, logger }) {
          const admission = options.admissionOf(contextValue);
          if (admission === undefined || response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          // Apollo leaves `data` out when nothing executed (a parse or validation failure, an
          // argument refused before execution); `null` means it ran and an error nulled the root.
          const ran = result.data !== undefined;
          // Counting must never fail an answer (a committed transfer included): on any failure the
          // answer goes out as it is, with `actualQueryCost: null` and no refund.
          let actual: number | null = 0;
          try {
            if (result.data !== undefined && result.data !== null && document !== undefined && operation !== undefined) {
              // Only a `@skip`/`@include` on a variable makes the count read the variables.
              const variables = countReadsVariables(document) ? (options.coercedVariablesOf?.(contextValue, request) ?? coerceVariables(schema, operation, request.variables ?? {})) : {};
              actual = actualQueryCost(schema, document, operation, variables, result.data);
            }
          } catch (error) {
            actual = null;
            logger.warn(`actual query cost not counted: ${error instanceof Error ? error.message : String(error)}`);
          }
          // No refund once an error is in the answer: null propagation can hide work that was done
          // (a failing field nulls its resolved siblings up to a nullable parent), and a refund
          // counted on what is left would let a query fail on purpose to run for free.
          // The estimate is an upper bound (tested): an actual above it charges nothing more.
          const unused = !ran ? admission.requestedQueryCost : actual === null || (result.errors?.length ?? 0) > 0 ? 0 : Math.max(0, admission.requestedQueryCost - actual);
          const currentlyAvailable = Math.min(admission.maximumAvailable, admission.currentlyAvailable + unused);
          result.extensions = { ...result.extensions, cost: costExtension({ ...admission, currentlyAvailable }, ran ? actual : null) };
          if (unused > 0 && options.refund !== undefined) {
            options.refund(contextValue, unused).catch((error: unknown) => logger.warn(`query-cost refund failed: ${String(error)}`));
          }
        },
      };
    },
  };
}
