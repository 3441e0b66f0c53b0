import type { ApolloServerPlugin } from '@apollo/server';
import { forEachSelectedField } from './operation-fields';
import { ScopeViolations } from './scope.plugin';
import { ArgumentChecker, coerceVariables } from './validate-arguments.plugin';
import type { ValidateArgumentsOptions } from './validate-arguments.plugin';

export interface OperationChecksOptions<TContext> extends ValidateArgumentsOptions {
  /** The scopes the calling key holds (lower case, as `RequiresScopes` names them). */
  scopesOf(context: TContext): readonly string[];
}

/**
 * The checks of an operation that need no stored data, before anything executes (at
 * `didResolveOperation`, after validation), in one walk over the fields it selects:
 *
 * 1. **Scopes.** An operation that selects any field its key may not read or run is refused with
 *    403 FORBIDDEN naming every such field (fields under `@skip`/`@include` included: a field asked
 *    for is a field checked), so a mutation whose selection asks for more than the key may see does
 *    not happen at all, rather than moving money and then withholding the answer. The check on each
 *    field (enforceRequiredScopes) stays as a second line when fields resolve.
 * 2. **Variables**, coerced as execution will, with a bound on their errors (BAD_USER_INPUT).
 * 3. **Arguments** of every field that will run, nested under a mutation's result included: a bad
 *    argument anywhere refuses the whole request with BAD_USER_INPUT and nothing is written. Without
 *    it, `createTransfer(…) { toAccount { transfers(first: 0) { … } } }` would move the money and
 *    only then fail on the nested page size. The first refusal in document order is the answer.
 *
 * A request that fails several is refused for the first of these, in this order.
 */
export function operationChecksPlugin<TContext extends object>(options: OperationChecksOptions<TContext>): ApolloServerPlugin<TContext> {
  const maxVariableErrors = options.maxVariableErrors ?? 5;
  if (!Number.isInteger(maxVariableErrors) || maxVariableErrors < 1) {
    throw new TypeError(`operationChecksPlugin: maxVariableErrors must be an integer >= 1, got ${maxVariableErrors}`);
  }
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request, contextValue }) {
          if (operation === undefined) return;
          const scopes = new ScopeViolations(options.scopesOf(contextValue));
          let variables: Record<string, unknown> | undefined;
          let variablesRefusal: { readonly error: unknown } | null = null;
          try {
            variables = coerceVariables(schema, operation, request.variables ?? {}, maxVariableErrors);
          } catch (error) {
            variablesRefusal = { error };
          }
          const headers = request.http?.headers;
          // Without coerced variables no argument is checked, and every selection counts for the scopes.
          const checker = variables === undefined ? null : new ArgumentChecker(variables, options.checks, options.toGraphQLError, { header: (name) => headers?.get(name) });
          forEachSelectedField(
            schema,
            document,
            operation,
            ({ node, field, coordinate, runs }) => {
              scopes.note(field, coordinate);
              if (runs) checker?.check(node, field, coordinate);
            },
            checker?.runs,
          );
          const forbidden = scopes.refusal();
          if (forbidden !== null) throw forbidden;
          if (variablesRefusal !== null) throw variablesRefusal.error;
          const refused = checker?.refusal() ?? null;
          if (refused !== null) throw refused.error;
        },
      };
    },
  };
}
