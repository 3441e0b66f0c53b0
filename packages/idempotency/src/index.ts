export type { AtomicIdempotency, AtomicScript, AtomicScriptSpec, FieldStatus } from './atomic';
export { ATOMIC_LUA, AtomicStatus, defineAtomicScript, RecordFormat, hasIdempotencyKey, openAtomicReply, withoutIdempotency } from './atomic';
export { canonicalJson, fingerprint } from './fingerprint';
export { decodeResult, encodeResult } from './codec';
export {
  IDEMPOTENCY_HTTP_STATUS,
  IdempotencyErrorCode,
  IdempotencyKeyInvalidError,
  IdempotencyKeyRequiredError,
  IdempotencyKeyReusedError,
  IdempotencyRequestInProgressError,
} from './errors';
export type { AnswerShape, HttpStatusOptions, StatusOf } from './http-status';
export { coercedVariables, decidingError, httpStatusOf, httpStatusPlugin, idempotencyStatusOf, rootFieldsOf } from './http-status';
export { downstreamKey, fencingCounterKey, idempotencyRecordKey, legacyIdempotencyRecordKey, MAX_IDEMPOTENCY_KEY_LENGTH, validateIdempotencyKey } from './key';
export type { LeasedCall, LeasedExecution, LeasedIdempotencyOptions, LeasedOutcome } from './leased';
export { ClaimStatus, CompleteStatus, LEASED_SCRIPTS, LeasedIdempotency, ReleaseStatus } from './leased';
export { idempotencyCallOf, idempotentResolver } from './field';
export type { IdempotentOptions } from './field';
export { idempotencyPlugin } from './plugin';
export type { IdempotencyRecordView } from './record';
export { readIdempotencyRecord } from './record';
export type { IdempotencyEntry, IdempotencyOptions } from './runtime';
export { IdempotencyCall, IdempotencyRuntime } from './runtime';
