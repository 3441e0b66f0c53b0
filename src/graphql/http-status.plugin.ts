import type { ApolloServerPlugin } from '@apollo/server';
import { getDirectiveValues, getVariableValues, GraphQLIncludeDirective, GraphQLSkipDirective, Kind } from 'graphql';
import type { DocumentNode, GraphQLFormattedError, GraphQLSchema, OperationDefinitionNode, SelectionNode, SelectionSetNode } from 'graphql';
import { ErrorCode, HTTP_STATUS, isErrorCode } from '../errors';

/** What the status rule reads from an answer. */
export interface AnswerShape {
  /** `data` as it goes out: absent when the request failed before execution. */
  readonly data?: Record<string, unknown> | null;
  readonly errors?: readonly GraphQLFormattedError[];
  /**
   * How many root fields the operation selected (`__typename` aside). Read only when `data` is
   * null (a non-null root field failed and took `data` with it), where the keys of `data` cannot
   * tell. Default 1.
   */
  readonly rootFieldCount?: number;
  /**
   * Response keys of root `__typename` fields (aliases included), which cannot fail and do not
   * count as root fields. Default: `__typename`.
   */
  readonly typenameKeys?: ReadonlySet<string>;
}

const TYPENAME_ONLY: ReadonlySet<string> = new Set(['__typename']);

/**
 * The status rule of the API contract (DESIGN.md "Errors"), as a pure function: the error whose
 * code gives the HTTP status, or null when the answer is 200.
 *
 * - The request failed before execution (no `data`: parse, validation, variables, argument checks,
 *   auth): its first error decides.
 * - The operation has exactly one root field and that field's *own* error (path = the root field)
 *   failed it: that error decides.
 * - Anything else is 200: partial results, several root fields, or an error nested in a root
 *   field's selection, even when it nulled the root field. A mutation field's own error comes
 *   only from its resolver throwing, which the stores do only for refusals that wrote nothing or
 *   were recorded as refusals; a mutation that committed returns its value, so an error below it is
 *   nested and the answer is 200: never a 4xx that would make a client retry with a new key.
 */
export function decidingError(answer: AnswerShape): GraphQLFormattedError | null {
  const errors = answer.errors ?? [];
  if (errors.length === 0) return null;
  if (answer.data === undefined) return errors[0] ?? null;
  const typenameKeys = answer.typenameKeys ?? TYPENAME_ONLY;
  const rootKeys = answer.data === null ? null : Object.keys(answer.data).filter((key) => !typenameKeys.has(key));
  const rootFieldCount = rootKeys === null ? (answer.rootFieldCount ?? 1) : rootKeys.length;
  if (rootFieldCount !== 1) return null;
  const own = errors.find((error) => error.path?.length === 1 && (rootKeys === null || error.path[0] === rootKeys[0]));
  return own ?? null;
}

/** onceql's table: the status of a public code; anything else is a 500. */
export function onceqlStatusOf(code: unknown): number {
  return isErrorCode(code) ? HTTP_STATUS[code] : HTTP_STATUS[ErrorCode.INTERNAL_SERVER_ERROR];
}

/**
 * The HTTP status of an answer under the rule of {@link decidingError}. `statusOf` maps a code to
 * its status; undefined leaves the status Apollo chose (for a code the table does not know).
 */
export function httpStatusOf(answer: AnswerShape, statusOf: (code: unknown) => number | undefined = onceqlStatusOf): number | undefined {
  const deciding = decidingError(answer);
  return deciding === null ? 200 : statusOf(deciding.extensions?.code);
}

/** Whether `@skip`/`@include` let a selection run, under the coerced variables. */
function runs(selection: SelectionNode, variables: Record<string, unknown>): boolean {
  if (!selection.directives?.length) return true;
  if (getDirectiveValues(GraphQLSkipDirective, selection, variables)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, selection, variables)?.if !== false;
}

/**
 * The variables as execution coerced them (defaults applied), or null when they do not coerce
 * (then nothing executed and the root fields do not matter).
 */
export function coercedVariables(schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined): Record<string, unknown> | null {
  const result = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {}, { maxErrors: 1 });
  return result.coerced ?? null;
}

/**
 * The root fields an operation executes, by response key, through fragments (each one entered
 * once, so the walk is linear): how many there are besides `__typename`, and the keys `__typename`
 * goes by. With `variables` (coerced), selections that `@skip`/`@include` leave out do not count;
 * without them, every selection counts.
 */
export function rootFieldsOf(operation: OperationDefinitionNode, document: DocumentNode, variables?: Record<string, unknown>): { count: number; typenameKeys: Set<string> } {
  const fragments = new Map(document.definitions.flatMap((definition) => (definition.kind === Kind.FRAGMENT_DEFINITION ? [[definition.name.value, definition] as const] : [])));
  const entered = new Set<string>();
  const fieldKeys = new Set<string>();
  const typenameKeys = new Set<string>(['__typename']);
  const walk = (selectionSet: SelectionSetNode): void => {
    for (const selection of selectionSet.selections) {
      if (variables !== undefined && !runs(selection, variables)) continue;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        (selection.name.value === '__typename' ? typenameKeys : fieldKeys).add(key);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet);
      } else if (!entered.has(selection.name.value)) {
        entered.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) walk(fragment.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return { count: fieldKeys.size, typenameKeys };
}

export interface HttpStatusOptions {
  /** A code's HTTP status; undefined leaves Apollo's. Default: onceql's table (unknown codes 500). */
  readonly statusOf?: (code: unknown) => number | undefined;
  /**
   * At most this many errors go out (default 20); the rest are counted in
   * `extensions.errorsOmitted`. Keeps an answer small whatever a request provokes.
   */
  readonly maxErrors?: number;
}

/**
 * Sets the HTTP status of every GraphQL answer in one place, from the rule of {@link decidingError}.
 * Apollo would otherwise apply `extensions.http` from every error, last one winning, partial
 * results included. Put it in every server that must tell the truth with its status; no other
 * plugin sets one. It also caps the number of errors an answer carries.
 */
export function httpStatusPlugin<TContext extends object>(options: HttpStatusOptions = {}): ApolloServerPlugin<TContext> {
  const statusOf = options.statusOf ?? onceqlStatusOf;
  const maxErrors = options.maxErrors ?? 20;
  if (!Number.isInteger(maxErrors) || maxErrors < 1) throw new TypeError(`httpStatusPlugin: maxErrors must be an integer >= 1, got ${maxErrors}`);
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, operation, document, schema, request }) {
          if (response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          const errors = result.errors;
          if (!errors || errors.length === 0) return;
          let root: { count: number; typenameKeys: Set<string> } | undefined;
          if (operation && document) {
            let variables: Record<string, unknown> | null = null;
            try {
              variables = coercedVariables(schema, operation, request.variables);
            } catch {
              variables = null; // a directive argument graphql-js cannot read: count every selection
            }
            try {
              root = rootFieldsOf(operation, document, variables ?? undefined);
            } catch {
              root = rootFieldsOf(operation, document);
            }
          }
          const status = httpStatusOf({ data: result.data, errors, rootFieldCount: root?.count, typenameKeys: root?.typenameKeys }, statusOf);
          if (status !== undefined) response.http.status = status;
          if (errors.length > maxErrors) {
            result.errors = errors.slice(0, maxErrors);
            result.extensions = { ...result.extensions, errorsOmitted: errors.length - maxErrors };
          }
        },
      };
    },
  };
}
