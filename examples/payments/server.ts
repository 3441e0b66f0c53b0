import 'reflect-metadata';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import type { HeaderMap } from '@apollo/server';
import type { HTTPGraphQLRequest } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import type { GraphQLFormattedError, GraphQLSchema } from 'graphql';
import { GraphQLError } from 'graphql';
import { buildSchemaSync } from 'type-graphql';
import { headerMapOf, readBody, startAndListen, writeGraphQLResponse } from '../../src/http/apollo-node';
import { httpStatusPlugin, idempotencyPlugin } from '@onceql/idempotency';
import type { LeasedExecution } from '@onceql/idempotency';
import type { RedisClient } from '../../src/redis/client';
import type { PaymentsContext } from './context';
import { PaymentNetworkClient } from './network-client';
import { PaymentResolver } from './payment.resolver';
import type { PaymentRecord } from './payment.type';

export interface PaymentsServerOptions {
  readonly redis: RedisClient;
  /** Base URL of the payment network, e.g. `http://127.0.0.1:34567`. */
  readonly networkUrl: string;
  /** How long outcomes are kept and replayed. */
  readonly ttlSeconds: number;
  /** How long a claim is exclusive before a retry may take it over (RECOVERED). */
  readonly leaseMs: number;
  /** How long a duplicate waits for a running execution before 409. */
  readonly waitMs: number;
  /** Runs after the network charged and before the outcome is stored: tests pause an execution here. */
  readonly beforeComplete?: (payment: PaymentRecord, execution: LeasedExecution) => Promise<void> | void;
  /** Gets every unexpected error before it is masked as INTERNAL_SERVER_ERROR. Default: console.error. */
  readonly logError?: (error: unknown) => void;
}

export interface PaymentsServer {
  readonly httpServer: http.Server;
  /** Starts Apollo and listens; port 0 picks a free port. */
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** Stops taking requests, drains the ones in flight, stops Apollo. Redis is the caller's. */
  stop(): Promise<void>;
}

const MERCHANT_PATTERN = /^[a-z0-9]{1,64}$/;

let schema: GraphQLSchema | undefined;

/** Built once per process: type-graphql keeps its metadata globally. */
function buildPaymentsSchema(): GraphQLSchema {
  schema ??= buildSchemaSync({ resolvers: [PaymentResolver], validate: false });
  return schema;
}

function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}

/** Errors with a code (ours, Apollo's, recorded ones) go out as they are; anything else is logged and masked. */
function formatError(logError: (error: unknown) => void) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const code = formatted.extensions?.code;
    if (original instanceof GraphQLError && typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') return formatted;
    logError(original);
    return { message: 'Internal server error', path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}

/**
 * A second Apollo server reusing onceql's idempotency plugin on the leased path: `createPayment`
 * calls the payment network over HTTP, which no Lua script can include. The merchant (header
 * `x-merchant`) is the idempotency namespace.
 */
export function createPaymentsServer(options: PaymentsServerOptions): PaymentsServer {
  const network = new PaymentNetworkClient(options.networkUrl);
  const logError = options.logError ?? ((error: unknown) => console.error('payments: unexpected error', error));
  const httpServer = http.createServer();
  const apollo = new ApolloServer<PaymentsContext>({
    schema: buildPaymentsSchema(),
    includeStacktraceInErrorResponses: false,
    stopOnTerminationSignals: false,
    formatError: formatError(logError),
    plugins: [
      // The status rule of @onceql/idempotency; codes other than the idempotency ones keep Apollo's status.
      httpStatusPlugin<PaymentsContext>(),
      idempotencyPlugin<PaymentsContext>({
        redis: options.redis,
        identify: (context) => context.namespace,
        ttlSeconds: options.ttlSeconds,
        leaseMs: options.leaseMs,
        waitMs: options.waitMs,
      }),
      ApolloServerPluginDrainHttpServer({ httpServer }),
    ],
  });

  async function context(headers: HeaderMap): Promise<PaymentsContext> {
    const merchant = headers.get('x-merchant');
    if (merchant === undefined) throw unauthenticated('Send the header x-merchant.');
    if (!MERCHANT_PATTERN.test(merchant)) throw unauthenticated('x-merchant must be 1-64 lowercase letters or digits.');
    return { merchant, namespace: `pay:{m:${merchant}}`, network, beforeComplete: options.beforeComplete };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/graphql') {
      res.statusCode = 404;
      res.end();
      return;
    }
    const headers = headerMapOf(req);
    let body: unknown = undefined;
    if (req.method === 'POST') {
      const text = await readBody(req, 1024 * 1024);
      try {
        body = /^application\/json\b/i.test(headers.get('content-type') ?? '') && text !== '' ? JSON.parse(text) : text;
      } catch {
        res.statusCode = 400;
        res.end('{"errors":[{"message":"The request body is not valid JSON.","extensions":{"code":"BAD_REQUEST"}}]}');
        return;
      }
    }
    const httpGraphQLRequest: HTTPGraphQLRequest = { method: req.method ?? 'GET', headers, search: url.search, body };
    const response = await apollo.executeHTTPGraphQLRequest({ httpGraphQLRequest, context: () => context(headers) });
    await writeGraphQLResponse(res, response);
  }

  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      logError(error);
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
  });

  return {
    httpServer,
    listen(port, host) {
      return startAndListen(apollo, httpServer, port, host);
    },
    async stop() {
      // The drain plugin closes the listener and waits for in-flight requests.
      await apollo.stop();
    },
  };
}
