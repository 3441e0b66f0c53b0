import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import type { HeaderMap } from '@apollo/server';
import type { HTTPGraphQLRequest } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginLandingPageLocalDefault,
  ApolloServerPluginLandingPageProductionDefault,
} from '@apollo/server/plugin/landingPage/default';
import { apiKeyFromHeaders } from './auth/api-key';
import { clientIp } from './auth/ip';
import { AuthStore } from './auth/store';
import type { Config } from './config';
import { API_VERSION, SUPPORTED_API_VERSIONS } from './config';
import { ApiError, ErrorCode, ForbiddenError, HTTP_STATUS, RateLimitedError, ServiceUnavailableError, UnauthenticatedError } from './errors';
import type { Context } from './graphql/context';
import { createLoaders } from './graphql/context';
import { formatError } from './graphql/errors';
import { httpStatusPlugin } from './graphql/http-status.plugin';
import { buildLedgerSchema } from './graphql/schema';
import { BodyTooLargeError, headerMapOf, readBody, startAndListen, writeGraphQLResponse } from './http/apollo-node';
import { APOLLO_STUDIO_ORIGIN, applyCors } from './http/cors';
import { idempotencyPlugin } from './idempotency';
import { analyzeQuery, costExtension, costPlugin, DEFAULT_QUERY_LIMITS, rateLimitHeaders } from './ratelimit';
import type { Admission, QueryLimits } from './ratelimit';
import { LedgerStore } from './ledger/store';
import type { Logger } from './log';
import type { RedisClient } from './redis/client';
import { isRedisUnavailable, pingRedis } from './redis/client';

export interface ServerDeps {
  readonly redis: RedisClient;
  readonly logger: Logger;
  /** Shown pre-filled in Apollo Sandbox in development. */
  readonly devApiKey?: string;
}

export interface OnceqlServer {
  readonly httpServer: http.Server;
  readonly apollo: ApolloServer<Context>;
  /** Starts Apollo and listens; port 0 picks a free port. */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Stops taking requests, drains the ones in flight, stops Apollo. Redis is the caller's. */
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const REQUEST_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;

/** A GraphQL error that ends a request before execution, with its HTTP status for Apollo. */
function preExecutionError(error: ApiError): ApiError {
  const code = error.extensions.code as ErrorCode;
  error.extensions.http = { status: HTTP_STATUS[code] };
  return error;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

function sendError(res: http.ServerResponse, code: ErrorCode, message: string, extra: Record<string, unknown> = {}): void {
  sendJson(res, HTTP_STATUS[code], { errors: [{ message, extensions: { ...extra, code } }] });
}

/** What the admit step reads from a GraphQL request: its query, operation name and variables. */
interface GraphQLParams {
  readonly query: unknown;
  readonly operationName: string | undefined;
  readonly variables: Record<string, unknown>;
}

function graphQLParams(method: string | undefined, body: unknown, url: URL): GraphQLParams | null {
  const objectOr = (value: unknown): Record<string, unknown> => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {});
  if (method === 'GET') {
    if (!url.searchParams.has('query')) return null;
    let variables: unknown = {};
    try {
      variables = JSON.parse(url.searchParams.get('variables') ?? '{}');
    } catch {
      // Apollo answers the malformed variables after the admit step
    }
    return { query: url.searchParams.get('query'), operationName: url.searchParams.get('operationName') ?? undefined, variables: objectOr(variables) };
  }
  const fields = objectOr(body);
  return { query: fields.query, operationName: typeof fields.operationName === 'string' ? fields.operationName : undefined, variables: objectOr(fields.variables) };
}

/**
 * The composition root: wires stores, schema, Apollo and the HTTP layer. No side effects until
 * `listen` is called.
 *
 * HTTP is plain `node:http` with Apollo's `executeHTTPGraphQLRequest`: no framework on the hot
 * path, and the few routes beside /graphql (/healthz, /readyz) need none.
 */
export function createServer(config: Config, deps: ServerDeps): OnceqlServer {
  const { redis, logger } = deps;
  const auth = new AuthStore(redis);
  const allowedOrigins = new Set([APOLLO_STUDIO_ORIGIN, ...config.corsOrigins]);
  const httpServer = http.createServer();

  const schema = buildLedgerSchema();
  const queryLimits: QueryLimits = { ...DEFAULT_QUERY_LIMITS, maxCost: config.queryCostMax };

  const landingPage = config.production
    ? ApolloServerPluginLandingPageProductionDefault({ footer: false })
    : ApolloServerPluginLandingPageLocalDefault({
        footer: false,
        embed: { initialState: { sharedHeaders: deps.devApiKey === undefined ? {} : { 'api-key': deps.devApiKey } } },
      });

  const apollo = new ApolloServer<Context>({
    schema,
    // Hash-only persisted queries would reach execution without a query to check and price.
    persistedQueries: false,
    introspection: config.introspection,
    includeStacktraceInErrorResponses: false,
    stopOnTerminationSignals: false,
    // Apollo's defaults, plus the auth headers: a request carrying one cannot be a simple CORS request.
    csrfPrevention: { requestHeaders: ['x-apollo-operation-name', 'apollo-require-preflight', 'api-key', 'authorization'] },
    apollo: { key: config.apolloKey, graphRef: config.apolloGraphRef },
    formatError: formatError(logger),
    logger: {
      debug: (message: unknown) => logger.debug(String(message)),
      info: (message: unknown) => logger.info(String(message)),
      warn: (message: unknown) => logger.warn(String(message)),
      error: (message: unknown) => logger.error(String(message)),
    },
    plugins: [
      httpStatusPlugin(),
      costPlugin<Context>((context) => context.admission),
      idempotencyPlugin<Context>({
        redis,
        identify: (context) => context.ledger.namespace,
        ttlSeconds: config.idempotencyTtlSeconds,
        leaseMs: config.idempotencyLeaseMs,
        waitMs: config.idempotencyWaitMs,
      }),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      landingPage,
    ],
  });

  /** The refusal of a request before Apollo sees it: a GraphQL error response with its status. */
  interface Refusal {
    readonly error: ApiError;
    readonly extensions?: Record<string, unknown>;
  }

  async function failedAuthentication(ip: string, apiKeySent: boolean): Promise<Refusal> {
    const decision = await auth.recordAuthFailure(ip, config.authFailuresPerMinute);
    if (decision.throttled) {
      return { error: new RateLimitedError('Too many failed authentications from this address; wait before trying again.', decision.retryAfterMs) };
    }
    return { error: apiKeySent ? new UnauthenticatedError('The api key is unknown or revoked.') : new UnauthenticatedError() };
  }

  /**
   * The admit step, before Apollo parses or validates anything (so an unauthenticated caller learns
   * nothing about the schema): check the query's shape and estimate its cost (no I/O), then one
   * Redis round trip authenticates the key, checks its IP allowlist, and charges the rate limit and
   * the cost budget. Order of refusals: authentication, query limits, rate limit, cost budget.
   */
  async function admit(req: http.IncomingMessage, res: http.ServerResponse, headers: HeaderMap, params: GraphQLParams, requestId: string): Promise<Context | Refusal> {
    const ip = clientIp(req.socket.remoteAddress, headers.get('x-forwarded-for'), config.trustProxy);
    const apiKey = apiKeyFromHeaders((name) => headers.get(name));
    if (apiKey === null) return failedAuthentication(ip, false);
    const analysis = typeof params.query === 'string' ? analyzeQuery(schema, params.query, params.operationName, params.variables, queryLimits) : ({ kind: 'unparsed' } as const);
    const cost = analysis.kind === 'ok' ? analysis.cost : 0;
    const result = await auth.admit(apiKey, ip, {
      charge: analysis.kind !== 'tooComplex',
      cost,
      ratePerSecond: config.rateLimitPerSecond,
      burst: config.rateLimitBurst,
      costBudget: config.queryCostBudget,
      costRestorePerSecond: config.queryCostRestorePerSecond,
    });
    if (result.status === 'unauthenticated') return failedAuthentication(ip, true);
    if (result.status === 'forbiddenIp') return { error: new ForbiddenError(`This api key may not be used from ${ip}.`) };
    const admission: Admission = {
      ratePerSecond: result.ratePerSecond,
      remaining: result.remaining,
      resetMs: result.resetMs,
      requestedQueryCost: cost,
      maximumAvailable: config.queryCostBudget,
      currentlyAvailable: result.costAvailable,
      restoreRate: config.queryCostRestorePerSecond,
    };
    for (const [name, value] of rateLimitHeaders(admission)) res.setHeader(name, value);
    if (analysis.kind === 'tooComplex') {
      return { error: new ApiError(ErrorCode.QUERY_TOO_COMPLEX, `The query is too complex: ${analysis.reason}.`), extensions: { cost: costExtension({ ...admission, requestedQueryCost: analysis.cost ?? 0 }) } };
    }
    if (result.status === 'rateLimited') {
      return { error: new RateLimitedError(`Over the rate limit of ${result.ratePerSecond} requests per second; back off and retry.`, result.retryAfterMs), extensions: { cost: costExtension(admission) } };
    }
    if (result.status === 'costThrottled') {
      return {
        error: new ApiError(ErrorCode.QUERY_COST_THROTTLED, `The query costs ${cost} points and ${Math.floor(result.costAvailable)} are available; they restore at ${config.queryCostRestorePerSecond} per second.`, {
          retryAfterMs: result.retryAfterMs,
        }),
        extensions: { cost: costExtension(admission) },
      };
    }
    const ledger = new LedgerStore(redis, result.principal.tenantId);
    return { requestId, principal: result.principal, ledger, auth, redis, loaders: createLoaders(ledger), admission };
  }

  function refuse(res: http.ServerResponse, refusal: Refusal): void {
    const code = refusal.error.extensions.code as ErrorCode;
    const retryAfterMs = refusal.error.extensions.retryAfterMs;
    if (typeof retryAfterMs === 'number') res.setHeader('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
    sendJson(res, HTTP_STATUS[code], {
      errors: [{ message: refusal.error.message, extensions: refusal.error.extensions }],
      ...(refusal.extensions ? { extensions: refusal.extensions } : {}),
    });
  }

  async function handleGraphQL(req: http.IncomingMessage, res: http.ServerResponse, url: URL, requestId: string): Promise<void> {
    const headers = headerMapOf(req);
    let body: unknown = undefined;
    if (req.method === 'POST') {
      let text: string;
      try {
        text = await readBody(req, MAX_BODY_BYTES);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          res.setHeader('connection', 'close');
          return sendError(res, ErrorCode.BAD_REQUEST, `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
        }
        throw error;
      }
      const contentType = headers.get('content-type') ?? '';
      if (/^application\/(graphql-response\+)?json\b/i.test(contentType)) {
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          return sendError(res, ErrorCode.BAD_REQUEST, 'The request body is not valid JSON.');
        }
      } else {
        body = text;
      }
    }
    const params = graphQLParams(req.method, body, url);
    let context: Context | undefined;
    // A GET without a query is the Sandbox landing page (or Apollo's 400): nothing to admit.
    if (params !== null) {
      let admitted: Context | Refusal;
      try {
        admitted = await admit(req, res, headers, params, requestId);
      } catch (error) {
        if (!isRedisUnavailable(error)) throw error;
        admitted = { error: new ServiceUnavailableError() };
      }
      if ('error' in admitted) return refuse(res, admitted);
      context = admitted;
    }
    const httpGraphQLRequest: HTTPGraphQLRequest = { method: req.method ?? 'GET', headers, search: url.search, body };
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: async () => {
        if (context === undefined) throw preExecutionError(new UnauthenticatedError());
        return context;
      },
    });
    await writeGraphQLResponse(res, response);
  }

  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const incomingId = req.headers['x-request-id'];
    const requestId = typeof incomingId === 'string' && REQUEST_ID_PATTERN.test(incomingId) ? incomingId : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('X-Api-Version', API_VERSION);
    const url = new URL(req.url ?? '/', 'http://localhost');

    const handle = async (): Promise<void> => {
      if (applyCors(req, res, allowedOrigins)) return;
      const pinned = req.headers['x-api-version'];
      if (pinned !== undefined && !SUPPORTED_API_VERSIONS.includes(String(pinned))) {
        return sendError(res, ErrorCode.BAD_USER_INPUT, `X-Api-Version "${String(pinned).slice(0, 32)}" is not supported; supported: ${SUPPORTED_API_VERSIONS.join(', ')}.`, {
          supportedVersions: SUPPORTED_API_VERSIONS,
        });
      }
      if (url.pathname === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
        return sendJson(res, 200, { status: 'ok' });
      }
      if (url.pathname === '/readyz' && (req.method === 'GET' || req.method === 'HEAD')) {
        const ready = await pingRedis(redis);
        return sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'redis unreachable' });
      }
      if (url.pathname === '/graphql' || url.pathname === '/graphql/') {
        if (req.method !== 'GET' && req.method !== 'POST') {
          res.setHeader('Allow', 'GET, POST, OPTIONS');
          return sendError(res, ErrorCode.BAD_REQUEST, 'Use GET or POST for /graphql.');
        }
        return handleGraphQL(req, res, url, requestId);
      }
      return sendJson(res, 404, { errors: [{ message: `No route for ${req.method} ${url.pathname}; the API is at /graphql.`, extensions: { code: ErrorCode.NOT_FOUND } }] });
    };

    handle().catch((error: unknown) => {
      logger.error('request failed', { error, requestId });
      if (!res.headersSent) sendError(res, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error');
      else res.destroy();
    });
  });

  return {
    httpServer,
    apollo,
    listen(port, host) {
      return startAndListen(apollo, httpServer, port, host);
    },
    async stop() {
      // The drain plugin closes the listener and waits for in-flight requests.
      await apollo.stop();
    },
  };
}
