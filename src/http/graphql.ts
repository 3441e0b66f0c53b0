import type http from 'node:http';
import type { ApolloServer, BaseContext, HTTPGraphQLRequest } from '@apollo/server';
import type { Admit, BeforeBody } from '../admit/admit';
import { graphQLParams } from '../admit/params';
import { clientAddress } from '../auth/ip';
import type { ClientAddress, TrustFunction } from '../auth/ip';
import type { ApiError } from '../errors';
import { ErrorCode, HTTP_STATUS, ServiceUnavailableError, UnauthenticatedError } from '../errors';
import { isRedisUnavailable } from '../redis/client';
import { headerMapOf, writeGraphQLResponse } from './apollo-node';
import { readBody } from './body';
import type { SandboxLandingPage } from './landing-page';
import type { Refusal } from './respond';
import { refusal, sendRefusal } from './respond';
import { isLocalBrowser } from './this-machine';

export interface GraphQLHandlerOptions<TContext extends BaseContext> {
  readonly apollo: ApolloServer<TContext>;
  readonly admit: Admit<TContext>;
  /** The admit step's headers-only check, run before a body is read (see `BeforeBody`). */
  readonly beforeBody: BeforeBody;
  /** Largest request body, in bytes (HTTP_MAX_BODY_BYTES). */
  readonly maxBodyBytes: number;
  /** Which hops of X-Forwarded-For are trusted proxies (TRUST_PROXY). */
  readonly trust: TrustFunction;
  /** Shows the development key in the landing page, to browsers on this machine only. */
  readonly landingPage: Pick<SandboxLandingPage, 'withDevKey'>;
}

export type GraphQLHandler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, requestId: string) => Promise<void>;

/** How much more than the body limit is read and dropped so that a refusal reaches the client. */
const DISCARD_FACTOR = 4;

/**
 * How long a body may take to arrive while its api key is not proven (a small body, read before
 * its key is authenticated). Normal clients send a few KiB at once; someone dribbling bodies on
 * many connections with made-up keys holds each one for this long at most, not for
 * HTTP_REQUEST_TIMEOUT_MS.
 */
export const UNPROVEN_BODY_TIMEOUT_MS = 2000;

/**
 * How long a connection refused before its body was read stays open after the answer, so that
 * the client can read the answer before the socket closes; then it is destroyed.
 */
const REFUSED_CLOSE_GRACE_MS = 1000;

/**
 * Largest body read before its api key is proven. A larger one, or one of undeclared length
 * (chunked), is read only after a round trip that authenticates the key: parsing a body costs
 * CPU in proportion to its size, and nobody unknown may buy that. Normal requests are far below.
 */
const UNPROVEN_BODY_BYTES = 16 * 1024;

/** Whether the request declares a body small enough to read before its key is proven. */
function declaresSmallBody(req: http.IncomingMessage): boolean {
  const declared = Number(req.headers['content-length']);
  return req.headers['transfer-encoding'] === undefined && Number.isFinite(declared) && declared <= UNPROVEN_BODY_BYTES;
}

/** The client address last found for each connection, and the X-Forwarded-For it was found from. */
const clientOfConnection = new WeakMap<object, { readonly forwardedFor: string | undefined; readonly client: ClientAddress }>();

/**
 * `clientAddress`, remembered per connection: a keep-alive connection's peer does not change, and
 * its proxy sends the same X-Forwarded-For for one client, so the address is parsed once per
 * connection and header value, not on every request.
 */
function clientOf(socket: { readonly remoteAddress?: string }, forwardedFor: string | undefined, trust: TrustFunction): ClientAddress {
  const known = clientOfConnection.get(socket);
  if (known !== undefined && known.forwardedFor === forwardedFor) return known.client;
  const client = clientAddress(socket.remoteAddress, forwardedFor, trust);
  if (socket.remoteAddress !== undefined) clientOfConnection.set(socket, { forwardedFor, client });
  return client;
}

/** A GraphQL error that ends a request before execution, with its HTTP status for Apollo. */
function preExecutionError(error: ApiError): ApiError {
  const code = error.extensions.code as ErrorCode;
  error.extensions.http = { status: HTTP_STATUS[code] };
  return error;
}

/** The media type of a Content-Type header, lower case, without parameters. */
function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * `/graphql`, step by step: who is calling (X-Forwarded-For through the trusted proxies), the
 * body (JSON only, within the limit), the admit step (authenticate and charge, or refuse), then
 * Apollo's `executeHTTPGraphQLRequest`, and its answer written out.
 */
export function createGraphQLHandler<TContext extends BaseContext>(options: GraphQLHandlerOptions<TContext>): GraphQLHandler {
  const { apollo, admit, maxBodyBytes, trust } = options;
  const discardBytes = maxBodyBytes * DISCARD_FACTOR;

  /**
   * Refuses a request whose body is not read yet, at once, and closes its connection: waiting
   * for the body to drain would let anyone hold a request open for free by dribbling one. Node
   * closes the socket once the answer is written; a client that does not read its answer is cut
   * off after a short grace.
   */
  function refuseUnread(req: http.IncomingMessage, res: http.ServerResponse, refused: Refusal): void {
    res.setHeader('connection', 'close');
    sendRefusal(req, res, refused);
    const socket = req.socket;
    const timer = setTimeout(() => socket.destroy(), REFUSED_CLOSE_GRACE_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  }

  return async function handleGraphQL(req, res, url, requestId) {
    const headers = headerMapOf(req);
    const client = clientOf(req.socket, headers.get('x-forwarded-for'), trust);
    if (!client.ok) return refuseUnread(req, res, refusal(ErrorCode.BAD_REQUEST, `The client address cannot be told: ${client.reason}.`));

    let body: unknown = undefined;
    if (req.method === 'POST') {
      if (mediaType(headers.get('content-type')) !== 'application/json') {
        return refuseUnread(req, res, refusal(ErrorCode.UNSUPPORTED_MEDIA_TYPE, 'Send the request body as JSON with "Content-Type: application/json".'));
      }
      // Who is calling, from the headers alone: no usable key (or a throttled address, or a large
      // body with a key not proven yet) is refused with the body dropped unread and unparsed.
      let early: Refusal | null;
      try {
        early = await options.beforeBody({ ip: client.address, headers, proveKey: !declaresSmallBody(req), request: req });
      } catch (error) {
        if (!isRedisUnavailable(error)) throw error;
        early = { error: new ServiceUnavailableError() };
      }
      if (early !== null) return refuseUnread(req, res, early);
      // A small body is read before its key is proven: it gets a short deadline.
      const read = await readBody(req, maxBodyBytes, discardBytes, declaresSmallBody(req) ? UNPROVEN_BODY_TIMEOUT_MS : undefined);
      if (read.kind === 'timedOut') return refuseUnread(req, res, refusal(ErrorCode.REQUEST_TIMEOUT, `The request body was not received within ${UNPROVEN_BODY_TIMEOUT_MS} ms.`));
      if (read.kind === 'tooLarge') {
        if (!read.drained) res.setHeader('connection', 'close');
        return sendRefusal(req, res, refusal(ErrorCode.PAYLOAD_TOO_LARGE, `The request body exceeds ${maxBodyBytes} bytes.`, { maxBodyBytes }));
      }
      try {
        body = read.text === '' ? undefined : JSON.parse(read.text);
      } catch {
        return sendRefusal(req, res, refusal(ErrorCode.BAD_REQUEST, 'The request body is not valid JSON.'));
      }
    }

    const params = graphQLParams(req.method, body, url);
    let context: TContext | undefined;
    // A GET without a query is the Sandbox landing page (or Apollo's 400): nothing to admit.
    if (params !== null) {
      let admitted: Awaited<ReturnType<Admit<TContext>>>;
      try {
        admitted = await admit({ requestId, ip: client.address, headers, params, request: req });
      } catch (error) {
        if (!isRedisUnavailable(error)) throw error;
        admitted = { error: new ServiceUnavailableError() };
      }
      if ('error' in admitted) return sendRefusal(req, res, admitted);
      for (const [name, value] of admitted.headers) res.setHeader(name, value);
      context = admitted.context;
      // A trusted document named by its hash: Apollo runs the registered text. The hash is
      // resolved here, so Apollo's own persisted-query cache (off) never sees it.
      if (admitted.query !== undefined) {
        const { persistedQuery: _resolved, ...extensions } = params.extensions ?? {};
        if (req.method === 'GET') {
          url.searchParams.set('query', admitted.query);
          url.searchParams.set('extensions', JSON.stringify(extensions));
        } else {
          body = { ...(body as Record<string, unknown>), query: admitted.query, extensions };
        }
      }
    }

    const httpGraphQLRequest: HTTPGraphQLRequest = { method: req.method ?? 'GET', headers, search: url.search, body };
    // Only a browser on this machine, straight to the socket, by a loopback name, sees the dev key.
    const response = await options.landingPage.withDevKey(params === null && isLocalBrowser(req), () =>
      apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest,
        context: async () => {
          if (context === undefined) throw preExecutionError(new UnauthenticatedError());
          return context;
        },
      }),
    );
    await writeGraphQLResponse(res, response);
  };
}
