import type { ApolloServerPlugin } from '@apollo/server';
import { getArgumentValues, getDirectiveValues, getVariableValues, GraphQLError, GraphQLIncludeDirective, GraphQLSkipDirective } from 'graphql';
import type { DocumentNode, FieldNode, FragmentSpreadNode, GraphQLSchema, InlineFragmentNode, OperationDefinitionNode } from 'graphql';
import { boundedMessage, variableErrorMessage } from './errors';
import { forEachSelectedField } from './operation-fields';

/** What a check may read of the request besides the field's arguments. */
export interface ArgumentCheckRequest {
  /** A request header by lower-case name; undefined when absent (or no HTTP request). */
  header(name: string): string | undefined;
}

/**
 * A check of one field's arguments that needs no stored data (formats, ranges, lengths, a key
 * that must be there). It gets the arguments as the resolver will (coerced, variables and defaults
 * applied) and the request's headers (none given: no headers), and throws to refuse.
 */
export type ArgumentCheck = (args: Record<string, unknown>, request?: ArgumentCheckRequest) => void;

const NO_HEADERS: ArgumentCheckRequest = { header: () => undefined };

export interface ValidateArgumentsOptions {
  /** Checks by schema coordinate, `Type.field` (e.g. `Account.transfers`). */
  readonly checks: Readonly<Record<string, ArgumentCheck>>;
  /**
   * Turns what a check throws into a GraphQL error with a code (a domain → API error table).
   * Default: GraphQL errors as they are, anything else is a bug and goes on as thrown.
   */
  readonly toGraphQLError?: (error: unknown) => unknown;
  /**
   * Variable errors collected before giving up (default 5). graphql-js prints the whole invalid value
   * into each one, so this bounds the work an invalid request can cause, not only the answer.
   */
  readonly maxVariableErrors?: number;
}

const BAD_USER_INPUT = 'BAD_USER_INPUT';
const TOO_MANY_VARIABLE_ERRORS = 'Too many errors processing variables';

function badUserInput(message: string, node?: FieldNode, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(boundedMessage(message), { nodes: node, extensions: { ...extensions, code: BAD_USER_INPUT } });
}

/**
 * Coerces the request's variables as execution will, refusing with one small BAD_USER_INPUT error
 * that names the first problem and counts the others, without the invalid value.
 */
export function coerceVariables(schema: GraphQLSchema, operation: OperationDefinitionNode, inputs: Record<string, unknown>, maxErrors: number): Record<string, unknown> {
  const result = getVariableValues(schema, operation.variableDefinitions ?? [], inputs, { maxErrors });
  if (result.coerced !== undefined) return result.coerced;
  const problems = result.errors.filter((error) => !error.message.startsWith(TOO_MANY_VARIABLE_ERRORS));
  const more = result.errors.length > problems.length;
  const [first] = problems;
  const firstMessage = first === undefined ? 'The variables are invalid' : variableErrorMessage(first.message, first.originalError?.message);
  const others = problems.length - 1 + (more ? 1 : 0);
  const count = others <= 0 ? '' : ` (and ${more ? `at least ${others}` : others} more problem${others === 1 ? '' : 's'} with the variables)`;
  throw badUserInput(`${boundedMessage(firstMessage)}${count}`);
}

function included(node: FieldNode | FragmentSpreadNode | InlineFragmentNode, variables: Record<string, unknown>): boolean {
  if (!node.directives?.length) return true;
  if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
}

/**
 * Runs every check on every field the operation will execute, nested ones and those in fragments
 * included, before anything executes. Each fragment is walked once (its type condition fixes its
 * parent type and the variables are the operation's, so every spread of it asks the same), so the
 * walk is linear in the document's size. Fields under `@skip`/`@include` that will not run are not
 * checked.
 */
export function checkArguments(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown>,
  checks: Readonly<Record<string, ArgumentCheck>>,
  toGraphQLError: (error: unknown) => unknown = (error) => error,
  request: ArgumentCheckRequest = NO_HEADERS,
): void {
  const checkField = (field: FieldNode, coordinate: string, check: ArgumentCheck, args: Record<string, unknown>): void => {
    try {
      check(args, request);
    } catch (thrown) {
      const error = toGraphQLError(thrown);
      if (!(error instanceof GraphQLError)) throw error;
      throw new GraphQLError(boundedMessage(error.message), { nodes: field, extensions: { ...error.extensions, coordinate } });
    }
  };

  forEachSelectedField(
    schema,
    document,
    operation,
    ({ node, field, coordinate }) => {
      const check = checks[coordinate];
      if (check === undefined) return;
      let args: Record<string, unknown>;
      try {
        args = getArgumentValues(field, node, variables);
      } catch (error) {
        throw badUserInput(error instanceof Error ? error.message : String(error), node, { coordinate });
      }
      checkField(node, coordinate, check, args);
    },
    (node) => included(node, variables),
  );
}

/**
 * Checks the arguments of every field of an operation before anything executes (at
 * `didResolveOperation`, after validation): a bad argument anywhere, nested under a mutation's
 * result included, refuses the whole request with BAD_USER_INPUT and nothing is written. Without
 * it, `createTransfer(…) { toAccount { transfers(first: 0) { … } } }` would move the money and only
 * then fail on the nested page size. Variables are coerced here first, with a bound on their errors.
 */
export function validateArgumentsPlugin<TContext extends object>(options: ValidateArgumentsOptions): ApolloServerPlugin<TContext> {
  const maxVariableErrors = options.maxVariableErrors ?? 5;
  if (!Number.isInteger(maxVariableErrors) || maxVariableErrors < 1) {
    throw new TypeError(`validateArgumentsPlugin: maxVariableErrors must be an integer >= 1, got ${maxVariableErrors}`);
  }
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (operation === undefined) return;
          const variables = coerceVariables(schema, operation, request.variables ?? {}, maxVariableErrors);
          const headers = request.http?.headers;
          checkArguments(schema, document, operation, variables, options.checks, options.toGraphQLError, { header: (name) => headers?.get(name) });
        },
      };
    },
  };
}
