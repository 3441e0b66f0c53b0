// @onceql/client: the fetch client and the retry rule. The Apollo Client links are in
// '@onceql/client/apollo', so that code without Apollo never loads it.
export { createClient, NetworkError } from './client.js';
export type { ClientOptions, ClientResult, Document, OnceqlClient, RequestOptions, TypedDocumentNode, TypedDocumentString } from './client.js';
export { IDEMPOTENCY_KEY_HEADER, keyPlan, newIdempotencyKey } from './keys.js';
export type { KeyPlan } from './keys.js';
export { askedWaitMs, isRetryable, NEVER_RETRIED_STATUSES, parseRetryAfter, resolveRetryOptions, retryDelayMs } from './retry.js';
export type { AttemptOutcome, ResolvedRetryOptions, RetryEvent, RetryOptions } from './retry.js';
