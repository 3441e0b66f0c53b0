import type { GraphQLField } from 'graphql';
import { Extensions } from 'type-graphql';
import type { Scope } from '../auth/api-key';

/**
 * Which fields need which scope, decided once per field and declared with {@link RequiresScopes}:
 *
 * - A field that reads stored data its parent object does not already hold needs `READ`, wherever
 *   it appears: the root queries (`account`, `accounts`, `transfer`, `transfers`,
 *   `idempotencyRecord`) and the field resolvers that load (`Transfer.fromAccount`,
 *   `Transfer.toAccount`, `Account.transfers`), nested under a mutation's result included.
 * - Ledger mutations need `WRITE`; `apiKeys`, `createApiKey` and `revokeApiKey` need `ADMIN`.
 * - Every other field needs nothing more than the field that returned its object: the scalars of
 *   an `Account` or `Transfer` (so a `WRITE`-only key sees what its mutation created, but nothing
 *   it did not create), connections, edges and `PageInfo`, every field of `ApiKey`, `CreatedApiKey`,
 *   `IdempotencyRecord` and `Tenant`, and `viewer` with its `apiKey` and `tenant` (only a valid key:
 *   the caller's own key and tenant are not ledger data).
 *
 * test/security/scopes.test.ts lists every field of the schema with its scopes, so a new field
 * cannot arrive without this decision being made for it.
 */
export const SCOPES_EXTENSION = 'requiredScopes';

/**
 * The calling key must hold every one of `scopes` to select this field. Declared once, in the field's
 * `extensions`, and checked twice: before execution by `operationChecksPlugin` (so an operation asking for a
 * field its key may not read is refused before anything runs or is written), and again when the
 * field resolves, for any executor that runs the schema without the plugin (`enforceRequiredScopes`
 * in ./auth-checker.ts wraps such fields' resolvers when the schema is built).
 */
export function RequiresScopes(...scopes: Scope[]): MethodDecorator & PropertyDecorator {
  const extensions = Extensions({ [SCOPES_EXTENSION]: scopes });
  return (prototype: object, propertyKey: string | symbol, descriptor?: PropertyDescriptor): void => {
    extensions(prototype, propertyKey, descriptor as PropertyDescriptor);
  };
}

/** The scopes a field of the built schema requires (none for a field without the decorator). */
export function requiredScopesOf(field: GraphQLField<unknown, unknown>): readonly string[] {
  const scopes: unknown = field.extensions[SCOPES_EXTENSION];
  return Array.isArray(scopes) ? (scopes as string[]) : [];
}

/** "Transfer.fromAccount needs the READ scope": the words of every scope refusal. */
export function describeMissingScopes(coordinate: string, missing: readonly string[]): string {
  const names = missing.map((scope) => scope.toUpperCase());
  return `${coordinate} needs the ${names.join(' and ')} scope${names.length > 1 ? 's' : ''}`;
}
