import { parse } from 'graphql';
import type { DocumentNode, GraphQLFormattedError } from 'graphql';
import { print } from 'graphql';
import { IDEMPOTENCY_KEY_HEADER, keyPlan, newIdempotencyKey } from './keys.js';
import { askedWaitMs, errorCodes, resolveRetryOptions, retryDelayMs } from './retry.js';
import type { AttemptOutcome, RetryOptions } from './retry.js';

/**
 * A document that carries its result and variables types, as GraphQL Code Generator writes them:
 * a `TypedDocumentNode` (typed-document-node plugin) or a `TypedDocumentString` (client preset
 * with `documentMode: 'string'`). Structurally the same as `@graphql-typed-document-node/core`.
 */
export interface TypedDocumentNode<TResult = Record<string, unknown>, TVariables = Record<string, unknown>> extends DocumentNode {
  __apiType?: (variables: TVariables) => TResult;
}
export interface TypedDocumentString<TResult = Record<string, unknown>, TVariables = Record<string, unknown>> {
  __apiType?: (variables: TVariables) => TResult;
  toString(): string;
}
export type Document<TResult, TVariables> = TypedDocumentNode<TResult, TVariables> | TypedDocumentString<TResult, TVariables> | string;

export interface ClientOptions {
  /** The API's URL, e.g. `https://api.example.com/graphql`. */
  readonly url: string;
  /** Sent as the `api-key` header. Optional when a header of `headers` authenticates. */
  readonly apiKey?: string;
  /** Headers sent with every request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** When and how long to retry; see {@link RetryOptions}. */
  readonly retry?: RetryOptions;
  /** One attempt is abandoned (and retried, if attempts remain) after this long, in ms. Default 15 000. */
  readonly attemptTimeoutMs?: number;
  /** The fetch to use. Default `globalThis.fetch`. */
  readonly fetch?: typeof globalThis.fetch;
}

export interface RequestOptions {
  /** The key of this mutation; default a fresh UUID v4. Kept as is for every retry. */
  readonly idempotencyKey?: string;
  /** Which operation of the document to run, when it has several. */
  readonly operationName?: string;
  /** Extra headers for this request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as the request's `extensions` (e.g. `persistedQuery`). */
  readonly extensions?: Readonly<Record<string, unknown>>;
  /** Cancels the request and its retries. */
  readonly signal?: AbortSignal;
}

export interface ClientResult<TResult> {
  readonly data?: TResult | null;
  readonly errors?: readonly GraphQLFormattedError[];
  readonly extensions?: Readonly<Record<string, unknown>>;
  /** The HTTP status of the last attempt. */
  readonly status: number;
  /** The first `extensions.code` of the errors, if any: what the caller branches on. */
  readonly code?: string;
  /** The server answered with a stored outcome (`Idempotent-Replayed: true`): an earlier attempt had run it. */
  readonly replayed: boolean;
  /** How many attempts it took, the first included. */
  readonly attempts: number;
  /** The key the mutation was sent with (header form); undefined for queries and operations that pass keys as arguments. */
  readonly idempotencyKey?: string;
}

/** Every attempt failed on the network (or timed out): nothing is known of the outcome, so retry later with the same key. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
  constructor(
    message: string,
    readonly attempts: number,
    readonly idempotencyKey: string | undefined,
    override readonly cause: unknown,
  ) {
    super(message);
  }
}

export interface OnceqlClient {
  /**
   * Runs a query or a mutation. A mutation with one root field gets one idempotency key for all of
   * its attempts (yours, or a fresh UUID v4), so retries can never run it twice. GraphQL errors
   * resolve with `errors` and `code`; only a network failure that outlasts the retries rejects
   * (with {@link NetworkError}).
   */
  request<TResult, TVariables extends Record<string, unknown> = Record<string, unknown>>(
    document: Document<TResult, TVariables>,
    variables?: TVariables,
    options?: RequestOptions,
  ): Promise<ClientResult<TResult>>;
}

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: { data?: unknown; errors?: GraphQLFormattedError[]; extensions?: Record<string, unknown> } | null;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The fetch client: `createClient({ url, apiKey }).request(Document, variables)`. */
export function createClient(options: ClientOptions): OnceqlClient {
  if (typeof options.url !== 'string' || options.url === '') throw new TypeError('createClient needs { url }, e.g. createClient({ url: "http://localhost:4000/graphql", apiKey })');
  const retry = resolveRetryOptions(options.retry);
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 15_000;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw new TypeError('No fetch: pass createClient({ fetch }) on a platform without globalThis.fetch');

  async function attempt(body: string, headers: Record<string, string>, signal: AbortSignal | undefined): Promise<Answer> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${attemptTimeoutMs} ms`)), attemptTimeoutMs);
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const response = await fetchImpl(options.url, { method: 'POST', headers, body, signal: controller.signal });
      const text = await response.text();
      let parsed: Answer['body'] = null;
      try {
        parsed = JSON.parse(text) as Answer['body'];
      } catch {
        // Not GraphQL (a proxy's error page): judged by its status alone.
      }
      return { status: response.status, headers: response.headers, body: parsed };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  return {
    async request(document, variables, requestOptions = {}) {
      const query = typeof document === 'string' ? document : 'kind' in document ? print(document as DocumentNode) : document.toString();
      const parsed = typeof document === 'object' && 'kind' in document ? (document as DocumentNode) : parse(query);
      const plan = keyPlan(parsed, requestOptions.operationName);
      const idempotencyKey = plan.headerKey ? (requestOptions.idempotencyKey ?? newIdempotencyKey()) : undefined;
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json;q=0.9',
        ...(options.apiKey === undefined ? {} : { 'api-key': options.apiKey }),
        ...options.headers,
        ...requestOptions.headers,
        ...(idempotencyKey === undefined ? {} : { [IDEMPOTENCY_KEY_HEADER]: idempotencyKey }),
      };
      const persisted = requestOptions.extensions?.persistedQuery !== undefined;
      const body = JSON.stringify({
        ...(persisted ? {} : { query }),
        ...(variables === undefined ? {} : { variables }),
        ...(requestOptions.operationName === undefined ? {} : { operationName: requestOptions.operationName }),
        ...(requestOptions.extensions === undefined ? {} : { extensions: requestOptions.extensions }),
      });
      const startedMs = Date.now();
      for (let attempts = 1; ; attempts++) {
        let outcome: AttemptOutcome;
        let answer: Answer | undefined;
        try {
          answer = await attempt(body, headers, requestOptions.signal);
          const errors = answer.body?.errors;
          outcome = { kind: 'answer', status: answer.status, codes: errorCodes(errors), retryAfterMs: askedWaitMs(answer.headers.get('retry-after'), errors) };
        } catch (error) {
          if (requestOptions.signal?.aborted) throw error;
          outcome = { kind: 'network', error };
        }
        const delay = retryDelayMs(outcome, attempts, Date.now() - startedMs, retry);
        if (delay === null) {
          if (answer === undefined) {
            const cause = outcome.kind === 'network' ? outcome.error : undefined;
            throw new NetworkError(`No answer from ${options.url} after ${attempts} attempt(s); the outcome is unknown: retry with the same idempotency key.`, attempts, idempotencyKey, cause);
          }
          const codes = outcome.kind === 'answer' ? outcome.codes : [];
          return {
            data: answer.body?.data as ClientResult<never>['data'],
            errors: answer.body?.errors,
            extensions: answer.body?.extensions,
            status: answer.status,
            code: codes[0],
            replayed: answer.headers.get('idempotent-replayed') === 'true',
            attempts,
            idempotencyKey,
          };
        }
        await sleep(delay, requestOptions.signal);
      }
    },
  };
}
