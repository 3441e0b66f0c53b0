import 'reflect-metadata';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { createAdmit, hasUsableKey } from './admit/admit';
import { KnownOperationTypesRule } from './admit/known-operation-types';
import { trustFunction } from './auth/ip';
import { AuthStore } from './auth/store';
import type { Config } from './config';
import type { Context } from './graphql/context';
import { createLoaders } from './graphql/context';
import { formatError, toApiError } from './graphql/errors';
import { httpStatusPlugin } from './graphql/http-status.plugin';
import { buildLedgerSchema } from './graphql/schema';
import { operationChecksPlugin } from './graphql/operation-checks.plugin';
import { argumentChecks } from './graphql/validate-arguments';
import { startAndListen } from './http/apollo-node';
import { APOLLO_STUDIO_ORIGIN } from './http/cors';
import { createDoor } from './http/door';
import { sandboxLandingPage } from './http/landing-page';
import { createGraphiQL } from './http/graphiql';
import { createHttpServer } from './http/node-server';
import { createGraphQLHandler } from './http/graphql';
import { idempotencyPlugin } from '@onceql/idempotency';
import { LedgerStore } from './ledger/store';
import type { Logger } from './observability';
import { createObservability } from './observability';
import { CostBudget, costPlugin, DEFAULT_QUERY_LIMITS } from '@onceql/ratelimit';
import type { RedisClient } from './redis/client';
import { pingRedis } from './redis/client';
import { redisFailureKind } from './redis/connect';
import { tenantKeys } from './redis/keys';
import { observeScripts } from './redis/scripts';

export interface ServerDeps {
  readonly redis: RedisClient;
  readonly logger: Logger;
  /** Shown pre-filled in Apollo Sandbox in development. */
  readonly devApiKey?: string;
}

export interface OnceqlServer {
  readonly httpServer: http.Server;
  readonly apollo: ApolloServer<Context>;
  /** Starts Apollo and listens (and the metrics listener, with METRICS_PORT); port 0 picks a free port. */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Where `GET /metrics` is served once listening; null without METRICS_PORT. */
  metricsAddress(): AddressInfo | null;
  /** Stops taking requests, drains the ones in flight, stops Apollo. Redis is the caller's. */
  stop(): Promise<void>;
}

/**
 * The composition root: wires stores, schema, Apollo, the admit step and the door. No logic, no
 * side effects until `listen` is called.
 *
 * HTTP is plain `node:http` with Apollo's `executeHTTPGraphQLRequest`: no framework on the hot
 * path, and the few routes beside /graphql (/healthz, /readyz) need none.
 */
export function createServer(config: Config, deps: ServerDeps): OnceqlServer {
  const { redis, logger } = deps;
  const auth = new AuthStore(redis);
  const costBudget = new CostBudget(redis, { maximum: config.queryCostBudget, restorePerSecond: config.queryCostRestorePerSecond });
  const trust = trustFunction(config.trustProxy);
  const httpServer = createHttpServer({ limits: config.http, logger, isTrustedProxy: (address) => trust(address, 0) });
  const schema = buildLedgerSchema();
  const observability = createObservability(config.observability, config.overload, logger, { hasUsableKey, scriptFailureKind: redisFailureKind });
  const observe = observability.requests;
  observeScripts(redis, observe.script);

  const landingPage = sandboxLandingPage({ production: config.production, devApiKey: deps.devApiKey });

  const apollo = new ApolloServer<Context>({
    schema,
    // Hash-only persisted queries would reach execution without a query to check and price.
    persistedQueries: false,
    introspection: config.introspection,
    // With introspection off, validation errors suggest no field names either ("Did you mean …").
    hideSchemaDetailsFromClientErrors: !config.introspection,
    validationRules: [KnownOperationTypesRule],
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
      operationChecksPlugin<Context>({ scopesOf: (context) => context.principal.scopes, checks: argumentChecks(schema), toGraphQLError: toApiError }),
      costPlugin<Context>({ admissionOf: (context) => context.admission, refund: observe.refund((context, points) => costBudget.refund(tenantKeys(context.principal.tenantId).costBudget, points)) }),
      idempotencyPlugin<Context>({
        redis,
        identify: (context) => context.ledger.namespace,
        ttlSeconds: config.idempotencyTtlSeconds,
        leaseMs: config.idempotencyLeaseMs,
        waitMs: config.idempotencyWaitMs,
      }),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // Apollo's default cache-control plugin wraps every field resolver; onceql gives no hints.
      ...(config.apolloCacheControl ? [] : [ApolloServerPluginCacheControlDisabled()]),
      landingPage.plugin,
      observe.plugin<Context>(),
    ],
  });

  const admitStep = createAdmit<Context>({
    schema,
    auth,
    queryLimits: { ...DEFAULT_QUERY_LIMITS, maxCost: config.queryCostMax },
    ratePerSecond: config.rateLimitPerSecond,
    burst: config.rateLimitBurst,
    costBudget: config.queryCostBudget,
    costRestorePerSecond: config.queryCostRestorePerSecond,
    authFailuresPerMinute: config.authFailuresPerMinute,
    createContext: ({ requestId, principal, admission }) => {
      const ledger = new LedgerStore(redis, principal.tenantId);
      return { requestId, principal, ledger, auth, redis, loaders: createLoaders(ledger), admission, tenantRatePerSecond: config.rateLimitPerSecond };
    },
  });
  // Load shedding before it, the per-tenant in-flight limit after it.
  const admit = observe.admit(admitStep, (context) => ({ tenantId: context.principal.tenantId, keyPrefix: context.principal.prefix, chargedCost: context.admission?.requestedQueryCost ?? 0 }));

  httpServer.on(
    'request',
    createDoor({
      logger,
      allowedOrigins: new Set([APOLLO_STUDIO_ORIGIN, ...config.corsOrigins]),
      allowLoopbackOrigins: config.nodeEnv === 'development',
      graphiql: config.graphiql ? createGraphiQL({ devApiKey: config.production ? undefined : deps.devApiKey }) : undefined,
      isReady: () => pingRedis(redis),
      shedding: () => observability.shedder.level(),
      graphql: observe.handler(createGraphQLHandler({ apollo, admit, beforeBody: observe.beforeBody(admitStep.beforeBody), maxBodyBytes: config.http.maxBodyBytes, trust, landingPage })),
    }),
  );

  return {
    httpServer,
    apollo,
    async listen(port, host) {
      const address = await startAndListen(apollo, httpServer, port, host);
      await observability.start();
      return address;
    },
    metricsAddress: () => observability.metricsAddress(),
    async stop() {
      // The drain plugin closes the listener and waits for in-flight requests.
      await apollo.stop();
      await observability.stop();
    },
  };
}
