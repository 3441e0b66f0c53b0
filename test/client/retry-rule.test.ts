import { keyPlan, parseRetryAfter, resolveRetryOptions, retryDelayMs } from '@onceql/client';
import type { AttemptOutcome } from '@onceql/client';
import { parse } from 'graphql';

// The one retry rule of @onceql/client (fetch client, retry link, RetryLink policy), case by case.

const answer = (status: number, codes: string[] = [], retryAfterMs?: number): AttemptOutcome => ({ kind: 'answer', status, codes, retryAfterMs });
const always = (value: number) => resolveRetryOptions({ random: () => value, initialDelayMs: 100, maxDelayMs: 1000, maxAttempts: 6, maxElapsedMs: 30_000 });

describe('retryDelayMs', () => {
  it('retries network failures, 409 in progress, 429 and 502/503/504 (OUTCOME_UNKNOWN included)', () => {
    const options = always(0.5);
    for (const outcome of [{ kind: 'network' } as const, answer(409, ['IDEMPOTENCY_REQUEST_IN_PROGRESS']), answer(429, ['RATE_LIMITED']), answer(502), answer(503, ['OUTCOME_UNKNOWN']), answer(503, ['SERVICE_UNAVAILABLE']), answer(504)]) {
      expect([outcome, retryDelayMs(outcome, 1, 0, options)]).toEqual([outcome, 50]);
    }
  });

  it('never retries 400, 401, 403, 404, 422, a 409 that is not in progress, a 500 or a 200', () => {
    const options = always(0.5);
    for (const outcome of [answer(400, ['QUERY_TOO_COMPLEX']), answer(401, ['UNAUTHENTICATED']), answer(403, ['PERSISTED_QUERY_NOT_IN_LIST']), answer(404, ['NOT_FOUND']), answer(422, ['INSUFFICIENT_FUNDS']), answer(409, ['CONFLICT']), answer(500), answer(200, ['INSUFFICIENT_FUNDS'])]) {
      expect([outcome, retryDelayMs(outcome, 1, 0, options)]).toEqual([outcome, null]);
    }
  });

  it('backs off exponentially with full jitter, capped, and waits at least what the server asked', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => retryDelayMs({ kind: 'network' }, attempt, 0, always(0.999999)))).toEqual([99, 199, 399, 799, 999]);
    expect([1, 2, 3].map((attempt) => retryDelayMs({ kind: 'network' }, attempt, 0, always(0)))).toEqual([0, 0, 0]);
    expect(retryDelayMs(answer(429, ['RATE_LIMITED'], 2500), 1, 0, always(0))).toBe(2500);
    expect(retryDelayMs(answer(429, ['RATE_LIMITED'], 10), 3, 0, always(0.999999))).toBe(399);
  });

  it('bounds attempts and the total time', () => {
    expect(retryDelayMs({ kind: 'network' }, 5, 0, always(0.5))).not.toBeNull();
    expect(retryDelayMs({ kind: 'network' }, 6, 0, always(0.5))).toBeNull();
    expect(retryDelayMs({ kind: 'network' }, 1, 29_950, always(0.5))).toBe(50);
    expect(retryDelayMs({ kind: 'network' }, 1, 29_951, always(0.5))).toBeNull();
    // A Retry-After past the total time gives up now rather than wait in vain.
    expect(retryDelayMs(answer(503, [], 60_000), 1, 0, always(0.5))).toBeNull();
  });

  it('refuses options that cannot work, saying which', () => {
    expect(() => resolveRetryOptions({ maxAttempts: 0 })).toThrow(/maxAttempts/);
    expect(() => resolveRetryOptions({ initialDelayMs: -1 })).toThrow(/initialDelayMs/);
    expect(() => resolveRetryOptions({ maxElapsedMs: Number.NaN })).toThrow(/maxElapsedMs/);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('Sun, 29 Nov 2026 20:00:05 GMT', Date.parse('Sun, 29 Nov 2026 20:00:00 GMT'))).toBe(5000);
    expect([parseRetryAfter(null), parseRetryAfter(''), parseRetryAfter('soon')]).toEqual([undefined, undefined, undefined]);
  });
});

describe('keyPlan', () => {
  it('keys a mutation with one root field by header, and leaves keys passed as arguments or several fields alone', () => {
    expect(keyPlan(parse('query { viewer { tenant { id } } }'))).toEqual({ mutation: false, headerKey: false });
    expect(keyPlan(parse('mutation { __typename a: createTransfer(input: $i) { id } }'))).toEqual({ mutation: true, headerKey: true });
    expect(keyPlan(parse('mutation { createTransfer(input: $i, idempotencyKey: "k") { id } }'))).toEqual({ mutation: true, headerKey: false });
    expect(keyPlan(parse('mutation { a: createTransfer(input: $i) { id } b: createTransfer(input: $j) { id } }'))).toEqual({ mutation: true, headerKey: false });
    expect(keyPlan(parse('mutation { ...F ...F } fragment F on Mutation { createAccount(input: $i) { id } }'))).toEqual({ mutation: true, headerKey: true });
    expect(keyPlan(parse('query Q { viewer { tenant { id } } } mutation M { createAccount(input: $i) { id } }'), 'M')).toEqual({ mutation: true, headerKey: true });
  });
});
