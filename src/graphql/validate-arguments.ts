import { getDirectiveValues, isObjectType } from 'graphql';
import type { GraphQLField, GraphQLSchema } from 'graphql';
import { validateNewApiKey } from '../auth/store';
import type { Scope } from '../auth/api-key';
import { IdempotencyKeyRequiredError, validateIdempotencyKey } from '@onceql/idempotency';
import { idempotentDirective } from './idempotent.directive';
import { decodeCursor, validateNewAccount, validateNewTransfer, validatePageSize } from '../ledger/store';
import type { ArgumentCheck } from './validate-arguments.plugin';
import type { CreateAccountInput } from './account.input';
import type { CreateApiKeyInput } from './api-key.input';
import type { CreateTransferInput } from './transfer.input';

// The arguments arrive coerced by graphql-js from a validated operation, so each has its schema
// type; the casts below only name it. Each check hands the domain validator what the resolver
// hands the store, so the same rules run before execution and again inside the store.

/** `first` 1..100 and an `after` this API issued, on every connection field. */
const page: ArgumentCheck = ({ first, after }) => {
  if (typeof first === 'number') validatePageSize(first);
  if (typeof after === 'string') decodeCursor(after);
};

const createAccount: ArgumentCheck = ({ input }) => {
  const { name, currency, allowNegativeBalance } = input as CreateAccountInput;
  validateNewAccount({ name, currency, allowNegativeBalance: allowNegativeBalance ?? false });
};

const createTransfer: ArgumentCheck = ({ input }) => {
  const { fromAccountId, toAccountId, amount, currency, reference } = input as CreateTransferInput;
  validateNewTransfer({ fromAccountId, toAccountId, amount, currency, reference: reference ?? null });
};

const createApiKey: ArgumentCheck = ({ input }) => {
  const { name, scopes, ipAllowlist, rateLimitPerSecond } = input as CreateApiKeyInput;
  validateNewApiKey({ name, scopes: scopes as readonly string[] as readonly Scope[], ipAllowlist: ipAllowlist ?? [], rateLimitPerSecond });
};

/** The checks of onceql's own fields, by schema coordinate. */
const FIELD_CHECKS: Readonly<Record<string, ArgumentCheck>> = {
  'Query.accounts': page,
  'Query.transfers': page,
  'Account.transfers': page,
  'Mutation.createAccount': createAccount,
  'Mutation.createTransfer': createTransfer,
  'Mutation.createApiKey': createApiKey,
};

/** A key given as an argument must be valid before any field of the operation runs. */
const idempotencyKeyArgument: ArgumentCheck = ({ idempotencyKey }) => {
  if (idempotencyKey !== null && idempotencyKey !== undefined) validateIdempotencyKey(idempotencyKey);
};

/**
 * A mutation marked `@idempotent(required: true)` needs a key, as its argument or in the
 * `Idempotency-Key` header, before any field of the operation runs: otherwise, in an operation of
 * two transfers, the first would commit and only the second fail. (The header applies only to an
 * operation with one mutation field; the idempotency plugin refuses it on any other before
 * execution, so its presence is enough here.)
 */
function keyRequired(field: GraphQLField<unknown, unknown>): ArgumentCheck | undefined {
  const marked = field.astNode ? getDirectiveValues(idempotentDirective, field.astNode) : undefined;
  if (marked?.required !== true) return undefined;
  return ({ idempotencyKey }, request) => {
    if ((idempotencyKey === null || idempotencyKey === undefined) && request?.header('idempotency-key') === undefined) throw new IdempotencyKeyRequiredError(field.name);
  };
}

/**
 * Every argument check of the schema that needs no stored data: the field checks above, and the
 * `idempotencyKey` argument of every mutation field. Queries that name an id (`account(id:)`) are
 * not here: an unknown or malformed id is null there, not an error.
 */
export function argumentChecks(schema: GraphQLSchema): Readonly<Record<string, ArgumentCheck>> {
  const checks: Record<string, ArgumentCheck> = { ...FIELD_CHECKS };
  const mutation = schema.getMutationType();
  for (const field of mutation && isObjectType(mutation) ? Object.values(mutation.getFields()) : []) {
    if (!field.args.some((arg) => arg.name === 'idempotencyKey')) continue;
    const coordinate = `${mutation?.name}.${field.name}`;
    const own = checks[coordinate];
    const required = keyRequired(field);
    checks[coordinate] = (args, request) => {
      required?.(args, request);
      idempotencyKeyArgument(args, request);
      own?.(args, request);
    };
  }
  return checks;
}
