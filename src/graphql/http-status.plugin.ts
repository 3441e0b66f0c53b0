import type { ApolloServerPlugin } from '@apollo/server';
import { httpStatusOf as statusUnderRule, httpStatusPlugin as statusRulePlugin } from '@onceql/idempotency';
import type { AnswerShape, HttpStatusOptions as RuleOptions } from '@onceql/idempotency';
import { ErrorCode, HTTP_STATUS, isErrorCode } from '../errors';

// The status rule (DESIGN.md "Errors": a committed mutation is never a 4xx) and the root-field
// walk live in @onceql/idempotency, which any Apollo server adopting it shares; onceql composes
// them with its own code → status table here.
export type { AnswerShape } from '@onceql/idempotency';
export { coercedVariables, decidingError, rootFieldsOf } from '@onceql/idempotency';

/** onceql's table: the status of a public code; anything else is a 500. */
export function onceqlStatusOf(code: unknown): number {
  return isErrorCode(code) ? HTTP_STATUS[code] : HTTP_STATUS[ErrorCode.INTERNAL_SERVER_ERROR];
}

/**
 * The HTTP status of an answer under the status rule. `statusOf` maps a code to its status;
 * undefined leaves the status Apollo chose (for a code the table does not know). Default: onceql's table.
 */
export function httpStatusOf(answer: AnswerShape, statusOf: (code: unknown) => number | undefined = onceqlStatusOf): number | undefined {
  return statusUnderRule(answer, statusOf);
}

export interface HttpStatusOptions extends RuleOptions {
  /** A code's HTTP status; undefined leaves Apollo's. Default: onceql's table (unknown codes 500). */
  readonly statusOf?: (code: unknown) => number | undefined;
}

/**
 * Sets the HTTP status of every GraphQL answer in one place, from the status rule of
 * @onceql/idempotency, with onceql's table; it also caps the number of errors an answer carries.
 */
export function httpStatusPlugin<TContext extends object>(options: HttpStatusOptions = {}): ApolloServerPlugin<TContext> {
  return statusRulePlugin<TContext>({ ...options, statusOf: options.statusOf ?? onceqlStatusOf });
}
