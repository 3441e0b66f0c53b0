import type { ApolloServerPlugin } from '@apollo/server';
import { forEachSelectedField, selectedFieldsOf } from './operation-fields';
import type { OperationFields, SelectedField } from './operation-fields';
import { requiredScopesOf } from './scope';
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
 * A request that fails several is refused for the first of these, in this order. Which fields need a
 * scope or an argument check is worked out once per parsed operation (Apollo hands every request of
 * the same query text the same document); only an operation with `@skip`/`@include`, whose running
 * fields depend on the variables, is walked per request.
 */
export function operationChecksPlugin<TContext extends object>(options: OperationChecksOptions<TContext>): ApolloServerPlugin<TContext> {
  const maxVariableErrors = options.maxVariableErrors ?? 5;
  if (!Number.isInteger(maxVariableErrors) || maxVariableErrors < 1) {
    throw new TypeError(`operationChecksPlugin: maxVariableErrors must be an integer >= 1, got ${maxVariableErrors}`);
  }
  const { checks } = options;

  /**
   * What of the checks depends on the operation alone, remembered per parsed operation: the fields
   * that need a scope (once per coordinate) and those that have an argument check, in walk order.
   * Null for an operation with `@skip`/`@include`, whose fields are walked per request.
   */
  const plans = new WeakMap<OperationFields, CheckPlan | null>();
  const planOf = (fields: OperationFields): CheckPlan | null => {
    let plan = plans.get(fields);
    if (plan === undefined) {
      plan = fields.conditional ? null : planChecks(fields.fields, checks);
      plans.set(fields, plan);
    }
    return plan;
  };

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
          const checker = variables === undefined ? null : new ArgumentChecker(variables, checks, options.toGraphQLError, { header: (name) => headers?.get(name) });
          const plan = planOf(selectedFieldsOf(schema, document, operation));
          if (plan !== null) {
            for (const { field, coordinate } of plan.scoped) scopes.note(field, coordinate);
            if (checker !== null) for (const { node, field, coordinate } of plan.checked) checker.check(node, field, coordinate);
          } else {
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
          }
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

/** The checks an operation without `@skip`/`@include` needs, whatever its variables. */
interface CheckPlan {
  /** Fields that require a scope, the first of each coordinate, in walk order. */
  readonly scoped: readonly SelectedField[];
  /** Fields that have an argument check, in walk order. */
  readonly checked: readonly SelectedField[];
}

function planChecks(fields: readonly SelectedField[], checks: Readonly<Record<string, unknown>>): CheckPlan {
  const scoped = new Map<string, SelectedField>();
  for (const selected of fields) {
    if (requiredScopesOf(selected.field).length > 0 && !scoped.has(selected.coordinate)) scoped.set(selected.coordinate, selected);
  }
  return { scoped: [...scoped.values()], checked: fields.filter(({ coordinate }) => checks[coordinate] !== undefined) };
}
