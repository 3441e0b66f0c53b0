import type { HeaderMap } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import { apiKeyFromHeaders, parseApiKey } from '../auth/api-key';
import type { AuthStore, Principal } from '../auth/store';
import { ApiError, ErrorCode, ForbiddenError, RateLimitedError, UnauthenticatedError } from '../errors';
import type { Refusal } from '../refusal';
import { analyzeQuery, costExtension, rateLimitHeaders } from '@onceql/ratelimit';
import type { Admission, QueryLimits } from '@onceql/ratelimit';
import type { GraphQLParams } from './params';
import { persistedQueryHash } from './persisted';
import { ThrottledAddresses } from './throttled';

/** Whether a request carries a well-formed api key (not yet whether it is a known one). */
export function hasUsableKey(headers: HeaderMap): boolean {
  const apiKey = apiKeyFromHeaders((name) => headers.get(name));
  return apiKey !== null && parseApiKey(apiKey) !== null;
}

export interface AdmitOptions<TContext> {
  readonly schema: GraphQLSchema;
  readonly auth: AuthStore;
  readonly queryLimits: QueryLimits;
  /** The tenant's request rate (RATE_LIMIT_PER_SECOND) and burst (RATE_LIMIT_BURST). */
  readonly ratePerSecond: number;
  readonly burst: number;
  /** The tenant's query-cost budget (QUERY_COST_BUDGET) and its restore rate per second. */
  readonly costBudget: number;
  readonly costRestorePerSecond: number;
  /** Failed authentications per minute a client address may make (AUTH_FAILURES_PER_MINUTE). */
  readonly authFailuresPerMinute: number;
  /** The request's context once admitted. */
  createContext(admitted: { readonly requestId: string; readonly principal: Principal; readonly admission: Admission }): TContext;
}

/** One request as the admit step sees it. */
export interface AdmitInput {
  readonly requestId: string;
  /** The client's address, as the door found it behind the trusted proxies. */
  readonly ip: string;
  readonly headers: HeaderMap;
  readonly params: GraphQLParams;
  /** The node request this input belongs to: a key for wrappers' per-request state (observability), never read here. */
  readonly request?: object;
}

/** An admitted request: its context, and the headers (RateLimit) its response carries. */
export interface Admitted<TContext> {
  readonly context: TContext;
  readonly headers: readonly (readonly [string, string])[];
  /** The text of the trusted document the request named by its hash, for Apollo to run. */
  readonly query?: string;
}

export type Admit<TContext> = (input: AdmitInput) => Promise<Admitted<TContext> | Refusal>;

/** A request whose body is not read yet, as `beforeBody` sees it. */
export interface HeadersOnlyInput {
  readonly ip: string;
  readonly headers: HeaderMap;
  /** Authenticate the key now, before the body is read (the body may be large). */
  readonly proveKey: boolean;
  /** The node request this input belongs to: a key for wrappers' per-request state (observability), never read here. */
  readonly request?: object;
}

/**
 * What can be decided from the headers alone, before the body is read: a refusal, or null to read
 * the body and admit the request.
 */
export type BeforeBody = (input: HeadersOnlyInput) => Promise<Refusal | null>;

/** The admit step, and its headers-only check for the door to run before reading a body. */
export type AdmitStep<TContext> = Admit<TContext> & { readonly beforeBody: BeforeBody };

/**
 * The admit step, before Apollo parses or validates anything (so an unauthenticated caller learns
 * nothing about the schema): check the query's shape and estimate its cost (no I/O, linear in the
 * document, which the body limit and the token cap bound), then one Redis round trip
 * authenticates the key, checks its IP allowlist, and charges the rate limit and the cost budget.
 * Order of refusals: authentication, query limits, rate limit, cost budget.
 *
 * What an anonymous caller can make the server do before it is refused: one round trip that
 * counts the failure, with its body unread (`beforeBody`); only with a well-formed key, reading
 * and parsing a small body, the analysis and the round trip (a large body is read only once its
 * key is proven). Each of its failures counts against its address (an IPv6 /64 as one) in the
 * failure throttle; once throttled, its requests are refused before any analysis (see
 * ThrottledAddresses).
 */
export function createAdmit<TContext>(options: AdmitOptions<TContext>): AdmitStep<TContext> {
  const { schema, auth, queryLimits } = options;
  const limits = { ratePerSecond: options.ratePerSecond, burst: options.burst, costBudget: options.costBudget, costRestorePerSecond: options.costRestorePerSecond };

  const throttled = new ThrottledAddresses();
  const tooManyFailures = (retryAfterMs: number): Refusal => ({
    error: new RateLimitedError('Too many failed authentications from this address; wait before trying again.', retryAfterMs),
  });

  async function failedAuthentication(ip: string, apiKeySent: boolean): Promise<Refusal> {
    const decision = await auth.recordAuthFailure(ip, options.authFailuresPerMinute);
    if (decision.throttled) {
      throttled.note(ip, decision.retryAfterMs);
      return tooManyFailures(decision.retryAfterMs);
    }
    return { error: apiKeySent ? new UnauthenticatedError('The api key is unknown or revoked.') : new UnauthenticatedError() };
  }

  /**
   * Before the body is read (so an anonymous caller cannot make the server buffer or parse one):
   * no usable key, or a throttled address whose key is unknown, is refused here, each failure
   * counted against the address as in `admit`; with `proveKey` (a large body follows) the key is
   * authenticated first, so a made-up key buys no parse either. A key that proves itself is
   * authenticated again, and charged, by `admit`.
   */
  const beforeBody: BeforeBody = async ({ ip, headers, proveKey }) => {
    const apiKey = apiKeyFromHeaders((name) => headers.get(name));
    const throttledMs = throttled.retryAfterMs(ip);
    if (apiKey === null || parseApiKey(apiKey) === null) {
      return throttledMs > 0 ? tooManyFailures(throttledMs) : failedAuthentication(ip, apiKey !== null);
    }
    if (throttledMs === 0 && !proveKey) return null;
    const known = await auth.admit(apiKey, ip, { ...limits, charge: false, cost: 0 });
    if (known.status === 'forbiddenIp') return { error: new ForbiddenError(`This api key may not be used from ${ip}.`) };
    if (known.status !== 'unauthenticated') return null;
    return throttledMs > 0 ? tooManyFailures(throttledMs) : failedAuthentication(ip, true);
  };

  const admit: Admit<TContext> = async ({ requestId, ip, headers, params }) => {
    const apiKey = apiKeyFromHeaders((name) => headers.get(name));
    const throttledMs = throttled.retryAfterMs(ip);
    if (apiKey === null || parseApiKey(apiKey) === null) {
      return throttledMs > 0 ? tooManyFailures(throttledMs) : failedAuthentication(ip, apiKey !== null);
    }
    if (throttledMs > 0) {
      // A throttled address proves its key before anything of its query is looked at.
      const known = await auth.admit(apiKey, ip, { ...limits, charge: false, cost: 0 });
      if (known.status === 'unauthenticated') return tooManyFailures(throttledMs);
    }
    // A trusted document named by its hash: its text, if the tenant registered it (and the text,
    // when the request sends one too, is that document).
    const hash = persistedQueryHash(params.extensions);
    const registered = hash === null ? null : await auth.findDocument((parseApiKey(apiKey) as { tenantId: string }).tenantId, hash);
    const trusted = registered !== null && (params.query === undefined || params.query === registered);
    const query = trusted ? registered : params.query;
    const analysis = typeof query === 'string' ? analyzeQuery(schema, query, params.operationName, params.variables, queryLimits) : ({ kind: 'unparsed' } as const);
    const cost = analysis.kind === 'ok' ? analysis.cost : 0;
    // A refused query is not free: it takes a request from the rate limit (its cost, 0 here, from
    // nothing). Parse and validation failures, found by Apollo after this step, were charged here too.
    const result = await auth.admit(apiKey, ip, { ...limits, charge: true, cost });
    if (result.status === 'unauthenticated') return failedAuthentication(ip, true);
    if (result.status === 'forbiddenIp') return { error: new ForbiddenError(`This api key may not be used from ${ip}.`) };
    if (result.principal.publishable === true && !trusted) {
      return {
        error: new ApiError(
          ErrorCode.PERSISTED_QUERY_NOT_IN_LIST,
          'This publishable key runs only the operations registered for its tenant: send extensions.persistedQuery.sha256Hash of a registered document (admin register-documents).',
        ),
      };
    }
    const admission: Admission = {
      ratePerSecond: result.ratePerSecond,
      remaining: result.remaining,
      resetMs: result.resetMs,
      requestedQueryCost: cost,
      maximumAvailable: options.costBudget,
      currentlyAvailable: result.costAvailable,
      restoreRate: options.costRestorePerSecond,
    };
    const limitHeaders = rateLimitHeaders(admission);
    if (analysis.kind === 'tooComplex') {
      return {
        error: new ApiError(ErrorCode.QUERY_TOO_COMPLEX, `The query is too complex: ${analysis.reason}.`),
        extensions: { cost: costExtension({ ...admission, requestedQueryCost: analysis.cost ?? 0 }) },
        headers: limitHeaders,
      };
    }
    if (result.status === 'rateLimited') {
      return {
        error: new RateLimitedError(`Over the rate limit of ${result.ratePerSecond} requests per second; back off and retry.`, result.retryAfterMs),
        extensions: { cost: costExtension(admission) },
        headers: limitHeaders,
      };
    }
    if (result.status === 'costThrottled') {
      return {
        error: new ApiError(
          ErrorCode.QUERY_COST_THROTTLED,
          `The query costs ${cost} points and ${Math.floor(result.costAvailable)} are available; they restore at ${options.costRestorePerSecond} per second.`,
          { retryAfterMs: result.retryAfterMs },
        ),
        extensions: { cost: costExtension(admission) },
        headers: limitHeaders,
      };
    }
    return { context: options.createContext({ requestId, principal: result.principal, admission }), headers: limitHeaders, ...(trusted ? { query: registered } : {}) };
  };
  return Object.assign(admit, { beforeBody });
}
