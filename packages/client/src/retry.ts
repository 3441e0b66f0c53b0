/**
 * When to try a request again, and after how long: one rule for the fetch client, the Apollo
 * retry link and Apollo's own RetryLink.
 *
 * Retried: network failures (no answer, or an answer lost on the way: the key makes the retry
 * safe), 409 IDEMPOTENCY_REQUEST_IN_PROGRESS, 429, and 502/503/504 (OUTCOME_UNKNOWN included: the
 * retry with the same key replays the write if it ran, or runs it once if it did not). Never
 * retried: 400, 401, 403, 404, 422 (the same request would be refused again; retrying a 401 only
 * trips the server's failed-authentication throttle), nor any other status.
 *
 * The wait is exponential back-off with full jitter (a random time between 0 and
 * `initialDelayMs · 2^(retry−1)`, capped at `maxDelayMs`), and at least what the server asked for
 * in `Retry-After` or `extensions.retryAfterMs`. Attempts and the total time are bounded.
 */

export interface RetryOptions {
  /** Most attempts in all, the first included. Default 6. */
  readonly maxAttempts?: number;
  /** The ceiling of the first retry's random wait, in ms; it doubles for each retry after. Default 300. */
  readonly initialDelayMs?: number;
  /** The largest back-off ceiling, in ms (a server's Retry-After may still ask for longer). Default 10 000. */
  readonly maxDelayMs?: number;
  /** No retry starts later than this after the first attempt, in ms. Default 30 000. */
  readonly maxElapsedMs?: number;
  /** The jitter's source of randomness, in [0, 1). Default Math.random. */
  readonly random?: () => number;
  /** Told of each retry before its wait (for logs and metrics). */
  readonly onRetry?: (event: RetryEvent) => void;
}

/** A retry about to happen: after which attempt, why, and how long it waits. */
export interface RetryEvent {
  /** The attempt that failed, 1 for the first. */
  readonly attempt: number;
  readonly outcome: AttemptOutcome;
  readonly delayMs: number;
}

/** What an attempt came to, as the retry rule sees it. */
export type AttemptOutcome =
  | { readonly kind: 'network'; readonly error?: unknown }
  | {
      readonly kind: 'answer';
      /** The HTTP status. */
      readonly status: number;
      /** `extensions.code` of each error in the answer. */
      readonly codes: readonly string[];
      /** The longest wait the server asked for (Retry-After, extensions.retryAfterMs), in ms. */
      readonly retryAfterMs?: number;
    };

/** Statuses a retry may fix. 409 only with IDEMPOTENCY_REQUEST_IN_PROGRESS. */
const RETRY_STATUSES: ReadonlySet<number> = new Set([409, 429, 502, 503, 504]);
/** Statuses a retry never fixes (listed for the reader: only RETRY_STATUSES are retried). */
export const NEVER_RETRIED_STATUSES: readonly number[] = [400, 401, 403, 404, 422];

export interface ResolvedRetryOptions {
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxElapsedMs: number;
  readonly random: () => number;
  readonly onRetry?: (event: RetryEvent) => void;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && value >= 0 && !Number.isNaN(value))) throw new TypeError(`retry option ${name} must be a number >= 0, got ${String(value)}`);
  return value;
}

export function resolveRetryOptions(options: RetryOptions = {}): ResolvedRetryOptions {
  const maxAttempts = positive('maxAttempts', options.maxAttempts, 6);
  if (maxAttempts < 1 || (!Number.isInteger(maxAttempts) && maxAttempts !== Infinity)) throw new TypeError(`retry option maxAttempts must be an integer >= 1, got ${maxAttempts}`);
  return {
    maxAttempts,
    initialDelayMs: positive('initialDelayMs', options.initialDelayMs, 300),
    maxDelayMs: positive('maxDelayMs', options.maxDelayMs, 10_000),
    maxElapsedMs: positive('maxElapsedMs', options.maxElapsedMs, 30_000),
    random: options.random ?? Math.random,
    onRetry: options.onRetry,
  };
}

/** Whether the outcome is worth another attempt at all (whatever the attempt count). */
export function isRetryable(outcome: AttemptOutcome): boolean {
  if (outcome.kind === 'network') return true;
  if (outcome.status === 409) return outcome.codes.includes('IDEMPOTENCY_REQUEST_IN_PROGRESS');
  return RETRY_STATUSES.has(outcome.status);
}

/**
 * The wait before the next attempt in ms, or null when there is none: the outcome is final, the
 * attempts are used up, or the wait would end past `maxElapsedMs`.
 *
 * @param attempt the attempt that just failed, 1 for the first
 * @param elapsedMs time since the first attempt started
 */
export function retryDelayMs(outcome: AttemptOutcome, attempt: number, elapsedMs: number, options: ResolvedRetryOptions): number | null {
  if (!isRetryable(outcome) || attempt >= options.maxAttempts) return null;
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (attempt - 1));
  const backoff = Math.floor(options.random() * ceiling);
  const asked = outcome.kind === 'answer' ? (outcome.retryAfterMs ?? 0) : 0;
  const delay = Math.max(backoff, asked);
  if (elapsedMs + delay > options.maxElapsedMs) return null;
  options.onRetry?.({ attempt, outcome, delayMs: delay });
  return delay;
}

/** `Retry-After` in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** The longest wait an answer asks for: its Retry-After header and each error's `extensions.retryAfterMs`. */
export function askedWaitMs(retryAfterHeader: string | null | undefined, errors: readonly { readonly extensions?: Readonly<Record<string, unknown>> }[] | undefined): number | undefined {
  const waits = (errors ?? []).flatMap((error) => (typeof error.extensions?.retryAfterMs === 'number' ? [error.extensions.retryAfterMs] : []));
  const header = parseRetryAfter(retryAfterHeader);
  if (header !== undefined) waits.push(header);
  return waits.length === 0 ? undefined : Math.max(...waits);
}

/** The codes of an answer's errors. */
export function errorCodes(errors: readonly { readonly extensions?: Readonly<Record<string, unknown>> }[] | undefined): string[] {
  return (errors ?? []).flatMap((error) => (typeof error.extensions?.code === 'string' ? [error.extensions.code] : []));
}
