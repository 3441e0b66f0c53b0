import type http from 'node:http';
import type { ApolloServer, BaseContext, HTTPGraphQLRequest } from '@apollo/server';
import type { Admit } from '../admit/admit';
import { graphQLParams } from '../admit/params';
import type { ApiError } from '../errors';
import { ErrorCode, HTTP_STATUS, ServiceUnavailableError, UnauthenticatedError } from '../errors';
import { isRedisUnavailable } from '../redis/client';
import { BodyTooLargeError, headerMapOf, readBody, writeGraphQLResponse } from './apollo-node';
import type { Refusal } from './respond';
import { sendError, sendRefusal } from './respond';

export interface GraphQLHandlerOptions<TContext extends BaseContext> {
  readonly apollo: ApolloServer<TContext>;
  readonly admit: Admit<TContext>;
  /** Largest request body read, in bytes. */
  readonly maxBodyBytes: number;
}

export type GraphQLHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, requestId: string) => Promise<void>;

/** A GraphQL error that ends a request before execution, with its HTTP status for Apollo. */
function preExecutionError(error: ApiError): ApiError {
  const code = error.extensions.code as ErrorCode;
  error.extensions.http = { status: HTTP_STATUS[code] };
  return error;
}

/**
 * `/graphql`: read the body, admit the request (or refuse it), then hand it to Apollo's
 * `executeHTTPGraphQLRequest` and write its answer.
 */
export function createGraphQLHandler<TContext extends BaseContext>(options: GraphQLHandlerOptions<TContext>): GraphQLHandler {
  const { apollo, admit, maxBodyBytes } = options;

  return async function handleGraphQL(req, res, url, requestId) {
    const headers = headerMapOf(req);
    let body: unknown = undefined;
    if (req.method === 'POST') {
      let text: string;
      try {
        text = await readBody(req, maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          res.setHeader('connection', 'close');
          return sendError(res, ErrorCode.BAD_REQUEST, `The request body exceeds ${maxBodyBytes} bytes.`);
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
    let context: TContext | undefined;
    // A GET without a query is the Sandbox landing page (or Apollo's 400): nothing to admit.
    if (params !== null) {
      let admitted: Awaited<ReturnType<Admit<TContext>>>;
      try {
        admitted = await admit({ requestId, socketAddress: req.socket.remoteAddress, headers, params });
      } catch (error) {
        if (!isRedisUnavailable(error)) throw error;
        admitted = { error: new ServiceUnavailableError() } satisfies Refusal;
      }
      if ('error' in admitted) return sendRefusal(res, admitted);
      for (const [name, value] of admitted.headers) res.setHeader(name, value);
      context = admitted.context;
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
  };
}
