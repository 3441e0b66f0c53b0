import type { ApolloServerPlugin } from '@apollo/server';
import { getDirectiveValues, getVariableValues, GraphQLIncludeDirective, GraphQLSkipDirective, Kind } from 'graphql';
import type { DocumentNode, GraphQLFormattedError, GraphQLSchema, OperationDefinitionNode, SelectionNode, SelectionSetNode } from 'graphql';
import { IDEMPOTENCY_HTTP_STATUS } from './errors';

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
 * The status rule, as a pure function: the error whose code gives the HTTP status, or null when
 * the answer is 200.
 *
 * - The request failed before execution (no `data`: parse, validation, variables, argument checks,
 *   auth): its first error decides.
 * - The operation has exactly one root field and that field's *own* error (path = the root field)
 *   failed it: that error decides.
 * - Anything else is 200: partial results, several root fields, or an error nested in a root
 *   field's selection, even when it nulled the root field. A mutation field's own error comes
 *   only from its resolver throwing, which happens only for refusals that wrote nothing or were
 *   recorded as refusals; a mutation that committed returns its value, so an error below it is
 *   nested and the answer is 200: **a committed mutation is never a 4xx**, which would make a
 *   client retry with a new key.
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

/** A code's HTTP status; undefined leaves the status Apollo chose. */
export type StatusOf = (code: unknown) => number | undefined;

/** The idempotency codes' statuses (400, 409, 422); undefined for any other code. */
export function idempotencyStatusOf(code: unknown): number | undefined {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(IDEMPOTENCY_HTTP_STATUS, code) ? IDEMPOTENCY_HTTP_STATUS[code as keyof typeof IDEMPOTENCY_HTTP_STATUS] : undefined;
}

/**
 * The HTTP status of an answer under the rule of {@link decidingError}: 200, or `statusOf` of the
 * deciding error's code (undefined: leave Apollo's).
 */
export function httpStatusOf(answer: AnswerShape, statusOf: StatusOf): number | undefined {
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
  /**
   * A code's HTTP status; undefined leaves Apollo's. Give your own table here, with the
   * idempotency codes in it (`{ ...IDEMPOTENCY_HTTP_STATUS, ...yours }`). Default:
   * {@link idempotencyStatusOf} (the idempotency codes; Apollo's status for any other).
   */
  readonly statusOf?: StatusOf;
  /**
   * At most this many errors go out (default 20); the rest are counted in
   * `extensions.errorsOmitted`. Keeps an answer small whatever a request provokes.
   */
  readonly maxErrors?: number;
}

/**
 * Sets the HTTP status of every GraphQL answer in one place, from the rule of {@link decidingError}.
 * Apollo would otherwise apply `extensions.http` from every error, last one winning, partial
 * results included (a committed mutation with a nested error would be a 4xx). Put it in every
 * server that uses `idempotencyPlugin`; no other plugin should set a status. It also caps the
 * number of errors an answer carries.
 */
export function httpStatusPlugin<TContext extends object>(options: HttpStatusOptions = {}): ApolloServerPlugin<TContext> {
  const statusOf = options.statusOf ?? idempotencyStatusOf;
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
