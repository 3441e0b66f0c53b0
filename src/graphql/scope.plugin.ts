import type { ApolloServerPlugin } from '@apollo/server';
import type { DocumentNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { ForbiddenError } from '../errors';
import { forEachSelectedField } from './operation-fields';
import { describeMissingScopes, requiredScopesOf } from './scope';

export interface ScopePluginOptions<TContext> {
  /** The scopes the calling key holds (lower case, as `RequiresScopes` names them). */
  scopesOf(context: TContext): readonly string[];
}

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
  const violations = new Map<string, readonly string[]>();
  forEachSelectedField(schema, document, operation, ({ field, coordinate }) => {
    const missing = requiredScopesOf(field).filter((scope) => !granted.includes(scope));
    if (missing.length > 0) violations.set(coordinate, missing);
  });
  return [...violations].map(([coordinate, missing]) => ({ coordinate, missing }));
}

/**
 * Refuses, before execution, an operation that selects any field its key may not read or run:
 * 403 FORBIDDEN naming every such field, and nothing executes, so a mutation whose selection asks
 * for more than the key may see does not happen at all (rather than moving money and then
 * withholding the answer). It runs at `didResolveOperation`, after validation, before the
 * resolvers; the check on each field (enforceRequiredScopes) stays as a second line when fields resolve.
 */
export function scopePlugin<TContext extends object>(options: ScopePluginOptions<TContext>): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, contextValue }) {
          if (operation === undefined) return;
          const violations = findScopeViolations(schema, document, operation, options.scopesOf(contextValue));
          if (violations.length === 0) return;
          const reasons = violations.map(({ coordinate, missing }) => describeMissingScopes(coordinate, missing));
          throw new ForbiddenError(`${reasons.join('; ')}, which this api key does not have. Nothing was executed.`);
        },
      };
    },
  };
}
