import { ServerError, ServerParseError } from '@apollo/client/errors';
import type { ErrorLike } from '@apollo/client';
import { ApolloLink } from '@apollo/client/link';
import type { RetryLink } from '@apollo/client/link/retry';
import { Observable } from 'rxjs';
import type { Subscription } from 'rxjs';
import { IDEMPOTENCY_KEY_HEADER, keyPlan, newIdempotencyKey } from './keys.js';
import { askedWaitMs, errorCodes, resolveRetryOptions, retryDelayMs } from './retry.js';
import type { AttemptOutcome, ResolvedRetryOptions, RetryOptions } from './retry.js';

/**
 * Apollo Client 4 links for onceql (`@onceql/client/apollo`; needs `@apollo/client` 4 and rxjs).
 *
 *     const link = ApolloLink.from([createIdempotencyLink(), createRetryLink(), new HttpLink({ uri })]);
 *
 * The key lives in the operation's context: minted at the first sight of a mutation and reused by
 * every retry, so the idempotency link may sit before or after any retry link.
 */

/** Context fields the links read and write. */
export interface OnceqlContext {
  /** The mutation's idempotency key: pass your own in `mutate({ context: { idempotencyKey } })`, or read the one minted. */
  idempotencyKey?: string;
  /** How many attempts the retry link made so far. */
  onceqlAttempts?: number;
}

export interface IdempotencyLinkOptions {
  /** Makes a key. Default: a UUID v4 from `crypto.randomUUID()`. */
  readonly newKey?: () => string;
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (key.toLowerCase() === wanted && typeof value === 'string') return value;
  }
  return undefined;
}

/**
 * Gives each mutation operation one idempotency key, at first sight, and keeps it in the
 * operation's context: a retry, whichever side of the retry link this link is on, finds the key
 * there and sends the same one. A key the caller passed (context `idempotencyKey`, or an
 * `Idempotency-Key` header in the context) is kept as is. An operation whose field passes
 * `idempotencyKey` as an argument, or with several mutation fields (which onceql keys per field,
 * by argument), is left alone.
 */
export function createIdempotencyLink(options: IdempotencyLinkOptions = {}): ApolloLink {
  const newKey = options.newKey ?? newIdempotencyKey;
  return new ApolloLink((operation, forward) => {
    if (operation.operationType === 'mutation' && keyPlan(operation.query, operation.operationName).headerKey) {
      const context = operation.getContext();
      const key = (context.idempotencyKey as string | undefined) ?? headerValue(context.headers, IDEMPOTENCY_KEY_HEADER) ?? newKey();
      operation.setContext((previous) => {
        const headers = Object.fromEntries(Object.entries((previous.headers ?? {}) as Record<string, string>).filter(([name]) => name.toLowerCase() !== 'idempotency-key'));
        return { idempotencyKey: key, headers: { ...headers, [IDEMPOTENCY_KEY_HEADER]: key } };
      });
    }
    return forward(operation);
  });
}

/** What an error seen by a link tells the retry rule. */
function outcomeOfError(error: unknown): AttemptOutcome {
  if (ServerError.is(error) || ServerParseError.is(error)) {
    let errors: { extensions?: Record<string, unknown> }[] | undefined;
    try {
      errors = (JSON.parse(error.bodyText) as { errors?: { extensions?: Record<string, unknown> }[] }).errors;
    } catch {
      errors = undefined;
    }
    return { kind: 'answer', status: error.statusCode, codes: errorCodes(errors), retryAfterMs: askedWaitMs(error.response.headers.get('retry-after'), errors) };
  }
  return { kind: 'network', error };
}

/**
 * A retry link that knows onceql's answers. Unlike Apollo's RetryLink, which sees only errors, it
 * also retries the refusals Apollo Client receives as results (a 429 or 503 served as
 * `application/graphql-response+json`), reading the status and `Retry-After` from the response.
 * When the retries are used up, the last answer goes to the caller as it came, code included.
 */
export function createRetryLink(options: RetryOptions = {}): ApolloLink {
  const retry = resolveRetryOptions(options);
  return new ApolloLink(
    (operation, forward) =>
      new Observable<ApolloLink.Result>((observer) => {
        const startedMs = Date.now();
        let attempt = 0;
        let subscription: Subscription | undefined;
        let timer: ReturnType<typeof setTimeout> | undefined;
        let settled = false;

        const again = (delay: number): void => {
          settled = true;
          subscription?.unsubscribe();
          timer = setTimeout(tryOnce, delay);
        };

        function tryOnce(): void {
          attempt += 1;
          settled = false;
          operation.setContext({ onceqlAttempts: attempt });
          subscription = forward(operation).subscribe({
            next(result) {
              if (settled) return;
              const response = operation.getContext().response as Response | undefined;
              const errors = 'errors' in result ? (result.errors as { extensions?: Record<string, unknown> }[] | undefined) : undefined;
              if (response !== undefined && errors !== undefined && errors.length > 0) {
                const outcome: AttemptOutcome = { kind: 'answer', status: response.status, codes: errorCodes(errors), retryAfterMs: askedWaitMs(response.headers.get('retry-after'), errors) };
                const delay = retryDelayMs(outcome, attempt, Date.now() - startedMs, retry);
                if (delay !== null) return again(delay);
              }
              observer.next(result);
            },
            error(error: unknown) {
              if (settled) return;
              const delay = retryDelayMs(outcomeOfError(error), attempt, Date.now() - startedMs, retry);
              if (delay !== null) return again(delay);
              settled = true;
              observer.error(error);
            },
            complete() {
              if (settled) return;
              settled = true;
              observer.complete();
            },
          });
        }

        tryOnce();
        return () => {
          settled = true;
          clearTimeout(timer);
          subscription?.unsubscribe();
        };
      }),
  );
}

/**
 * The same rule as options for Apollo's own `RetryLink`: `new RetryLink(retryPolicy())`. RetryLink
 * sees only errors: network failures and answers that are not `application/graphql-response+json`
 * (ServerError). Use {@link createRetryLink} to also retry onceql's 409/429/503 answers.
 */
export function retryPolicy(options: RetryOptions = {}): Required<Pick<RetryLink.Options, 'attempts' | 'delay'>> {
  const retry: ResolvedRetryOptions = resolveRetryOptions(options);
  // RetryLink asks `attempts` then `delay` for the same failure: decide once, remember the wait.
  const started = new WeakMap<object, number>();
  const decided = new WeakMap<object, number>();
  return {
    attempts(count, operation, error: ErrorLike) {
      if (!started.has(operation)) started.set(operation, Date.now());
      const delay = retryDelayMs(outcomeOfError(error), count, Date.now() - (started.get(operation) ?? Date.now()), retry);
      if (delay === null) return false;
      decided.set(operation, delay);
      return true;
    },
    delay(_count, operation) {
      return decided.get(operation) ?? retry.initialDelayMs;
    },
  };
}
