import { getArgumentValues, getDirectiveValues, getVariableValues, GraphQLError, GraphQLIncludeDirective, GraphQLSkipDirective } from 'graphql';
import type { FieldNode, FragmentSpreadNode, GraphQLField, GraphQLSchema, InlineFragmentNode, OperationDefinitionNode } from 'graphql';
import { boundedMessage, variableErrorMessage } from './errors';

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

/** Whether `@skip`/`@include` let a selection run, under the coerced variables. */
function runsUnder(node: FieldNode | FragmentSpreadNode | InlineFragmentNode, variables: Record<string, unknown>): boolean {
  if (!node.directives?.length) return true;
  if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
}

/**
 * The argument rule of one walk over an operation's fields: `runs` tells the walk which selections
 * execute under the variables, and `check` is called for each field that runs, in walk order; the
 * first refusal is kept (`refusal`) and nothing more is checked. Kept apart from the walk so that
 * the operation checks (operation-checks.plugin.ts) run it in the same pass as the scopes.
 */
export class ArgumentChecker {
  private refused: { readonly error: unknown } | null = null;

  constructor(
    private readonly variables: Record<string, unknown>,
    private readonly checks: Readonly<Record<string, ArgumentCheck>>,
    private readonly toGraphQLError: (error: unknown) => unknown = (error) => error,
    private readonly request: ArgumentCheckRequest = NO_HEADERS,
  ) {}

  /**
   * Whether a selection runs (`@skip`/`@include`). A directive graphql-js cannot read (a variable
   * coerced to null in `if:`) is the refusal, as it would fail execution; after a refusal every
   * selection counts as running, since nothing more is checked.
   */
  readonly runs = (node: FieldNode | FragmentSpreadNode | InlineFragmentNode): boolean => {
    if (this.refused !== null) return true;
    try {
      return runsUnder(node, this.variables);
    } catch (error) {
      this.refused = { error };
      return true;
    }
  };

  /** Runs the field's check, if it has one and nothing was refused yet. */
  check(node: FieldNode, field: GraphQLField<unknown, unknown>, coordinate: string): void {
    if (this.refused !== null) return;
    const check = this.checks[coordinate];
    if (check === undefined) return;
    let args: Record<string, unknown>;
    try {
      args = getArgumentValues(field, node, this.variables);
    } catch (error) {
      this.refused = { error: badUserInput(error instanceof Error ? error.message : String(error), node, { coordinate }) };
      return;
    }
    try {
      check(args, this.request);
    } catch (thrown) {
      const error = this.toGraphQLError(thrown);
      // Anything but a GraphQL error is a bug, and goes on as it was thrown.
      this.refused = { error: error instanceof GraphQLError ? new GraphQLError(boundedMessage(error.message), { nodes: node, extensions: { ...error.extensions, coordinate } }) : error };
    }
  }

  /** What to throw: the first refusal (a BAD_USER_INPUT or the check's own error), or null. */
  refusal(): { readonly error: unknown } | null {
    return this.refused;
  }
}
