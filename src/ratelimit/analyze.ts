import { getNamedType, GraphQLError, isLeafType, isObjectType, isInterfaceType, Kind, parse, valueFromAST } from 'graphql';
import type {
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  GraphQLField,
  GraphQLNamedType,
  GraphQLSchema,
  OperationDefinitionNode,
  SelectionSetNode,
} from 'graphql';

/** Caps on a query's shape, enforced before execution. */
export interface QueryLimits {
  /** Largest estimated cost of one query (QUERY_COST_MAX). */
  readonly maxCost: number;
  /** Nesting depth of fields (introspection fields not counted). */
  readonly maxDepth: number;
  /** Aliased fields in the whole document. */
  readonly maxAliases: number;
  /** Lexical tokens: the parser stops at this many, so a huge document costs little to refuse. */
  readonly maxTokens: number;
  /** Directives in the whole document. */
  readonly maxDirectives: number;
}

export const DEFAULT_QUERY_LIMITS: Omit<QueryLimits, 'maxCost'> = { maxDepth: 12, maxAliases: 30, maxTokens: 3000, maxDirectives: 20 };

export type QueryAnalysis =
  | { readonly kind: 'ok'; readonly cost: number }
  /** The query is over a cap: refuse it with QUERY_TOO_COMPLEX. */
  | { readonly kind: 'tooComplex'; readonly reason: string; readonly cost: number | null }
  /** Not a document we can analyse (syntax error, no such operation): Apollo will answer it. */
  | { readonly kind: 'unparsed' };

/** Field arguments named like this multiply the cost of their connection's items. */
const PAGE_SIZE_ARGUMENT = 'first';
const DEFAULT_PAGE_SIZE = 20;
const MUTATION_FIELD_COST = 10;

interface Walk {
  readonly schema: GraphQLSchema;
  readonly fragments: Map<string, FragmentDefinitionNode>;
  readonly variables: Record<string, unknown>;
  aliases: number;
  directives: number;
  maxDepth: number;
}

function pageSize(walk: Walk, field: GraphQLField<unknown, unknown>, node: FieldNode): number {
  const definition = field.args.find((arg) => arg.name === PAGE_SIZE_ARGUMENT);
  if (definition === undefined) return 1;
  const argument = node.arguments?.find((arg) => arg.name.value === PAGE_SIZE_ARGUMENT);
  const value = argument ? valueFromAST(argument.value, definition.type, walk.variables) : definition.defaultValue;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : DEFAULT_PAGE_SIZE;
}

/**
 * Cost of a selection set under a parent type (DESIGN.md): scalars and enums 0, an object field 1
 * plus its selection, a connection `first` × (its items' selection) + 1, introspection 0.
 */
function selectionCost(walk: Walk, selectionSet: SelectionSetNode, parent: GraphQLNamedType | undefined, depth: number, visiting: Set<string>): number {
  let total = 0;
  for (const selection of selectionSet.selections) {
    walk.directives += selection.directives?.length ?? 0;
    if (selection.kind === Kind.FRAGMENT_SPREAD) {
      const fragment = walk.fragments.get(selection.name.value);
      if (fragment === undefined || visiting.has(fragment.name.value)) continue;
      visiting.add(fragment.name.value);
      total += selectionCost(walk, fragment.selectionSet, walk.schema.getType(fragment.typeCondition.name.value) ?? parent, depth, visiting);
      visiting.delete(fragment.name.value);
      continue;
    }
    if (selection.kind === Kind.INLINE_FRAGMENT) {
      const typed = selection.typeCondition ? walk.schema.getType(selection.typeCondition.name.value) : parent;
      total += selectionCost(walk, selection.selectionSet, typed ?? parent, depth, visiting);
      continue;
    }
    if (selection.alias) walk.aliases += 1;
    const name = selection.name.value;
    if (name.startsWith('__')) continue; // introspection: free, and not counted in depth
    walk.maxDepth = Math.max(walk.maxDepth, depth);
    const field = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[name] : undefined;
    const type = field ? getNamedType(field.type) : undefined;
    if (type && isLeafType(type)) continue;
    if (!selection.selectionSet) {
      total += 1;
      continue;
    }
    if (field && type && type.name.endsWith('Connection')) {
      const size = pageSize(walk, field, selection);
      let items = 0;
      let rest = 0;
      for (const child of selection.selectionSet.selections) {
        const cost = selectionCost(walk, { kind: Kind.SELECTION_SET, selections: [child] }, type, depth + 1, visiting);
        if (child.kind === Kind.FIELD && (child.name.value === 'edges' || child.name.value === 'nodes')) items += cost;
        else rest += cost;
      }
      total += 1 + size * items + rest;
      continue;
    }
    total += 1 + selectionCost(walk, selection.selectionSet, type, depth + 1, visiting);
  }
  return total;
}

function operationOf(document: DocumentNode, operationName: string | undefined): OperationDefinitionNode | undefined {
  const operations = document.definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);
  if (operationName) return operations.find((operation) => operation.name?.value === operationName);
  return operations.length === 1 ? operations[0] : undefined;
}

/**
 * Checks a query's shape and estimates its cost before execution, without validating it (Apollo
 * does that after authentication). Parsing stops at `maxTokens`, so a 5,000-deep or 500-alias
 * document is refused after reading at most that many tokens.
 */
export function analyzeQuery(schema: GraphQLSchema, source: string, operationName: string | undefined, variables: Record<string, unknown>, limits: QueryLimits): QueryAnalysis {
  let document: DocumentNode;
  try {
    document = parse(source, { maxTokens: limits.maxTokens, noLocation: true });
  } catch (error) {
    if (error instanceof GraphQLError && /contains more th\w* \d+ tokens/i.test(error.message)) {
      return { kind: 'tooComplex', reason: `the document has more than ${limits.maxTokens} tokens`, cost: null };
    }
    return { kind: 'unparsed' };
  }
  const operation = operationOf(document, operationName);
  if (operation === undefined) return { kind: 'unparsed' };
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const walk: Walk = { schema, fragments, variables, aliases: 0, directives: operation.directives?.length ?? 0, maxDepth: 0 };
  const root = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  let cost = 0;
  for (const selection of operation.selectionSet.selections) {
    const fieldCost = selectionCost(walk, { kind: Kind.SELECTION_SET, selections: [selection] }, root ?? undefined, 1, new Set());
    const isField = selection.kind === Kind.FIELD && !selection.name.value.startsWith('__');
    cost += operation.operation === 'mutation' && isField ? MUTATION_FIELD_COST + Math.max(0, fieldCost - 1) : fieldCost;
  }
  if (walk.maxDepth > limits.maxDepth) return { kind: 'tooComplex', reason: `the query nests ${walk.maxDepth} levels deep; the limit is ${limits.maxDepth}`, cost };
  if (walk.aliases > limits.maxAliases) return { kind: 'tooComplex', reason: `the query has ${walk.aliases} aliases; the limit is ${limits.maxAliases}`, cost };
  if (walk.directives > limits.maxDirectives) return { kind: 'tooComplex', reason: `the query has ${walk.directives} directives; the limit is ${limits.maxDirectives}`, cost };
  if (cost > limits.maxCost) return { kind: 'tooComplex', reason: `the query would cost ${cost} points; the limit is ${limits.maxCost} (lower "first" or select less)`, cost };
  return { kind: 'ok', cost };
}
