import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap } from '@apollo/server';
import type { HTTPGraphQLRequest } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import {
  ApolloServerPluginLandingPageLocalDefault,
  ApolloServerPluginLandingPageProductionDefault,
} from '@apollo/server/plugin/landingPage/default';
import { apiKeyFromHeaders } from './auth/api-key';
import { clientIp, ipAllowed } from './auth/ip';
import { AuthStore } from './auth/store';
import type { Config } from './config';
import { API_VERSION, SUPPORTED_API_VERSIONS } from './config';
import type { ApiError } from './errors';
import { ErrorCode, ForbiddenError, HTTP_STATUS, RateLimitedError, ServiceUnavailableError, UnauthenticatedError } from './errors';
import type { Context } from './graphql/context';
import { createLoaders } from './graphql/context';
import { formatError } from './graphql/errors';
import { httpStatusPlugin } from './graphql/http-status.plugin';
import { buildLedgerSchema } from './graphql/schema';
import { APOLLO_STUDIO_ORIGIN, applyCors } from './http/cors';
import { idempotencyPlugin } from './idempotency';
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
  const headers = new Map<string, string>();
  const retryAfterMs = error.extensions.retryAfterMs;
  if (typeof retryAfterMs === 'number') headers.set('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  error.extensions.http = { status: HTTP_STATUS[code], headers };
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

class BodyTooLargeError extends Error {}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLargeError());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
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

  const landingPage = config.production
    ? ApolloServerPluginLandingPageProductionDefault({ footer: false })
    : ApolloServerPluginLandingPageLocalDefault({
        footer: false,
        embed: { initialState: { sharedHeaders: deps.devApiKey === undefined ? {} : { 'api-key': deps.devApiKey } } },
      });

  const apollo = new ApolloServer<Context>({
    schema: buildLedgerSchema(),
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

  /**
   * Before execution: who is calling (one Redis read), from where (the key's IP allowlist), and,
   * for a failure, the client IP's allowance of failed attempts (429 past it).
   */
  async function authenticate(req: http.IncomingMessage, headers: HeaderMap, requestId: string): Promise<Context> {
    const ip = clientIp(req.socket.remoteAddress, headers.get('x-forwarded-for'), config.trustProxy);
    const apiKey = apiKeyFromHeaders((name) => headers.get(name));
    let principal;
    try {
      principal = apiKey === null ? null : await auth.authenticate(apiKey);
      if (principal === null) {
        const decision = await auth.recordAuthFailure(ip, config.authFailuresPerMinute);
        if (decision.throttled) {
          throw preExecutionError(new RateLimitedError('Too many failed authentications from this address; wait before trying again.', decision.retryAfterMs));
        }
        throw preExecutionError(apiKey === null ? new UnauthenticatedError() : new UnauthenticatedError('The api key is unknown or revoked.'));
      }
    } catch (error) {
      if (isRedisUnavailable(error)) throw preExecutionError(new ServiceUnavailableError());
      throw error;
    }
    if (!ipAllowed(ip, principal.ipAllowlist)) throw preExecutionError(new ForbiddenError(`This api key may not be used from ${ip}.`));
    const ledger = new LedgerStore(redis, principal.tenantId);
    return { requestId, principal, ledger, auth, redis, loaders: createLoaders(ledger) };
  }

  async function handleGraphQL(req: http.IncomingMessage, res: http.ServerResponse, url: URL, requestId: string): Promise<void> {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown = undefined;
    if (req.method === 'POST') {
      let text: string;
      try {
        text = await readBody(req);
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
    const httpGraphQLRequest: HTTPGraphQLRequest = { method: req.method ?? 'GET', headers, search: url.search, body };
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest,
      context: () => authenticate(req, headers, requestId),
    });
    for (const [name, value] of response.headers) res.setHeader(name, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
      return;
    }
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
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
    async listen(port, host) {
      await apollo.start();
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      return httpServer.address() as AddressInfo;
    },
    async stop() {
      // The drain plugin closes the listener and waits for in-flight requests.
      await apollo.stop();
    },
  };
}
