import type { DocumentNode, GraphQLField, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { ForbiddenError } from '../errors';
import { forEachSelectedField } from './operation-fields';
import { describeMissingScopes, requiredScopesOf } from './scope';

/** A field of the operation that needs a scope the caller lacks, by schema coordinate. */
export interface ScopeViolation {
  /** `Type.field`, e.g. `Transfer.fromAccount` (aliases do not matter: the field does). */
  readonly coordinate: string;
  readonly missing: readonly string[];
}

/**
 * Every field the operation selects whose required scopes (see `RequiresScopes`) the caller lacks,
 * one entry per schema coordinate. Aliases, fragments, inline fragments and fields under `@skip` or
 * `@include` are all counted: a field asked for is a field checked, whatever the variables say.
 * Each fragment is walked once (its type condition fixes its parent type, so every spread of it
 * asks for the same fields), so the walk is linear in the document's size. Meta fields
 * (`__typename`, introspection) read no ledger data and need no scope.
 */
export function findScopeViolations(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, granted: readonly string[]): ScopeViolation[] {
  const violations = new ScopeViolations(granted);
  forEachSelectedField(schema, document, operation, ({ field, coordinate }) => violations.note(field, coordinate));
  return violations.list();
}

/**
 * The scope rule of one walk over an operation's fields: `note` each field selected (whether or not it
 * runs), then `refusal` is the 403 to answer, or null. Kept apart from the walk so that the
 * operation checks (operation-checks.plugin.ts) run it in the same pass as the argument checks.
 */
export class ScopeViolations {
  private readonly missingByCoordinate = new Map<string, readonly string[]>();

  constructor(private readonly granted: readonly string[]) {}

  note(field: GraphQLField<unknown, unknown>, coordinate: string): void {
    const required = requiredScopesOf(field);
    if (required.length === 0) return;
    const missing = required.filter((scope) => !this.granted.includes(scope));
    if (missing.length > 0) this.missingByCoordinate.set(coordinate, missing);
  }

  list(): ScopeViolation[] {
    return [...this.missingByCoordinate].map(([coordinate, missing]) => ({ coordinate, missing }));
  }

  /**
   * 403 FORBIDDEN naming every field the key may not select, in the order the operation first
   * asks for them; null when there is none.
   */
  refusal(): ForbiddenError | null {
    if (this.missingByCoordinate.size === 0) return null;
    const reasons = this.list().map(({ coordinate, missing }) => describeMissingScopes(coordinate, missing));
    return new ForbiddenError(`${reasons.join('; ')}, which this api key does not have. Nothing was executed.`);
  }
}
