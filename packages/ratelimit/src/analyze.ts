import { getNamedType, GraphQLError, isObjectType, Kind, SchemaMetaFieldDef, TypeMetaFieldDef, valueFromAST, valueFromASTUntyped, visit } from 'graphql';
import type {
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  GraphQLField,
  GraphQLInputType,
  GraphQLNamedType,
  GraphQLSchema,
  OperationDefinitionNode,
  SelectionSetNode,
  ValueNode,
} from 'graphql';
import { parseRemembered } from './parsed-documents';
import { checkVariables, DEFAULT_VARIABLE_LIMITS } from './variables';
import type { VariableLimits } from './variables';
import { DEFAULT_LIST_SIZE, introspectionWeight, leafListCost, priceOf } from './weights';
import type { ListSize } from './weights';

/** Caps on a query's shape, enforced before execution. */
export interface QueryLimits {
  /** Largest estimated cost of one query (QUERY_COST_MAX). */
  readonly maxCost: number;
  /**
   * Characters of the query text, checked before it is parsed: tokens bound the parse's steps, not
   * its bytes, and a few long strings made validation print and compare ~1 MB of arguments.
   */
  readonly maxQueryLength: number;
  /** Characters of one string literal (block strings included) in the document. */
  readonly maxStringLiteralLength: number;
  /** Nesting depth of fields (introspection fields not counted: they have their own cap). */
  readonly maxDepth: number;
  /** Aliased fields, counted as the query would run: a fragment's aliases once per spread. */
  readonly maxAliases: number;
  /** Lexical tokens: the parser stops at this many, so a huge document costs little to refuse. */
  readonly maxTokens: number;
  /** Directives, counted like aliases. */
  readonly maxDirectives: number;
  /** Fragment definitions in the document. */
  readonly maxFragments: number;
  /** Operations in the document (validation reads every one, whichever runs). */
  readonly maxOperations: number;
  /** Fragment spreads in the document. */
  readonly maxSpreads: number;
  /** Nesting inside introspection (`__schema`, `__type`), `ofType` chains not counted. */
  readonly maxIntrospectionDepth: number;
  /**
   * Field nodes of the whole document as validation reads them: every operation and every fragment
   * definition (used or not), each with its spreads expanded. Validation
   * (OverlappingFieldsCanBeMergedRule) compares fields pairwise, so this and the two caps below
   * keep its work small, not only execution's.
   */
  readonly maxFields: number;
  /** Selections (fields, spreads, inline fragments) of one selection set as written. */
  readonly maxSelections: number;
  /**
   * Times one response key may be selected at one response path (fragments and inline fragments
   * merged, as execution and validation merge them): same-named fields are compared pairwise.
   */
  readonly maxSameResponseKey: number;
  /** Bounds on the variables, checked before anything else. */
  readonly variables: VariableLimits;
}

export const DEFAULT_QUERY_LIMITS: Omit<QueryLimits, 'maxCost'> = {
  // The largest document onceql expects is an IDE's introspection query (~2 KB); a document at the
  // 3,000-token cap averages under 22 characters a token (names, punctuation, indentation), so
  // 64 KiB refuses only documents padded with long strings or comments.
  maxQueryLength: 65_536,
  // A literal is bounded like a variable string: the same value can be sent either way.
  maxStringLiteralLength: DEFAULT_VARIABLE_LIMITS.maxStringLength,
  maxDepth: 12,
  maxAliases: 30,
  maxTokens: 3000,
  maxDirectives: 20,
  maxFragments: 50,
  // Validation costs ~10 µs per operation on top of its fields; clients send one or a few.
  maxOperations: 50,
  maxSpreads: 100,
  // __schema > types > fields > args > type > name, as every GraphQL IDE asks it.
  maxIntrospectionDepth: 6,
  // GraphiQL's full introspection query is the largest document onceql expects (about 350 fields
  // as validation expands it, each key at most twice at one path); onceql's own operations need
  // tens. Worst accepted document: 800 fields, 8 of one key per path.
  maxFields: 800,
  maxSelections: 100,
  maxSameResponseKey: 8,
  variables: DEFAULT_VARIABLE_LIMITS,
};

export type QueryAnalysis =
  /** `visitedNodes`: selections the walk visited, a small multiple of the document's size. */
  | { readonly kind: 'ok'; readonly cost: number; readonly visitedNodes: number }
  /** The query (or its variables) is over a cap: refuse it with QUERY_TOO_COMPLEX. */
  | { readonly kind: 'tooComplex'; readonly reason: string; readonly cost: number | null; readonly visitedNodes: number }
  /** Not a document we can analyse (syntax error, no such operation): Apollo will answer it. */
  | { readonly kind: 'unparsed' };

/**
 * What a selection set adds up to under one parent type. Fragments are summarised once per
 * document (and per set of sized fields they are read under), and a spread adds the summary: so
 * a chain of fragments that each spread the next twice costs one visit per node, not 2^depth.
 * Counts are of the query as it would run (a fragment's aliases once per spread), so they may be
 * huge numbers, never huge work.
 */
interface Summary {
  cost: Cost;
  /** The part of `cost` from fields named in the enclosing field's `sizedFields` (connection edges). */
  sizedCost: Cost;
  /** Deepest nesting of ordinary fields below this level (1 for a level of leaves). */
  depth: number;
  /** Deepest nesting of introspection fields below this level. */
  introspectionDepth: number;
  aliases: number;
  directives: number;
  spreads: number;
  /** Field nodes, counted as the query would run (a fragment's once per spread). */
  fields: number;
}

function emptySummary(): Summary {
  return { cost: 0, sizedCost: 0, depth: 0, introspectionDepth: 0, aliases: 0, directives: 0, spreads: 0, fields: 0 };
}

/** Adds `part` into `total`, all but the costs: the caller sums those ({@link sumOf}). */
function addShapeInto(total: Summary, part: Summary): void {
  total.depth = Math.max(total.depth, part.depth);
  total.introspectionDepth = Math.max(total.introspectionDepth, part.introspectionDepth);
  total.aliases += part.aliases;
  total.directives += part.directives;
  total.spreads += part.spreads;
  total.fields += part.fields;
}

/**
 * A cost as the walk of a document finds it: a number, or, where a slicing argument is given by a
 * variable (`first: $n`), a formula over the request's variables. The walk is done once per
 * document (see {@link walkedDocument}); a request works out only its formulas, and a document
 * without variable slicing arguments has none. The formulas do the same floating-point operations
 * in the same order as a walk with the variables would, so every cost comes out the same, huge
 * ones included.
 */
type Cost = number | CostFormula;

class CostFormula {
  constructor(readonly compute: (evaluation: CostEvaluation) => number) {}
}

/**
 * One request's values of the formulas, each formula computed once: a fragment's summary is shared
 * by all its spreads, so its formula may be reached many times (2^depth paths through a chain of
 * fragments that spread the next twice), and is computed once.
 */
class CostEvaluation {
  private readonly computed = new Map<CostFormula, number>();

  constructor(readonly variables: Record<string, unknown>) {}

  valueOf(cost: Cost): number {
    if (typeof cost === 'number') return cost;
    let value = this.computed.get(cost);
    if (value === undefined) {
      value = cost.compute(this);
      this.computed.set(cost, value);
    }
    return value;
  }
}

function plus(a: Cost, b: Cost): Cost {
  return typeof a === 'number' && typeof b === 'number' ? a + b : new CostFormula((evaluation) => evaluation.valueOf(a) + evaluation.valueOf(b));
}

function minus(a: Cost, b: Cost): Cost {
  return typeof a === 'number' && typeof b === 'number' ? a - b : new CostFormula((evaluation) => evaluation.valueOf(a) - evaluation.valueOf(b));
}

function times(a: Cost, b: Cost): Cost {
  return typeof a === 'number' && typeof b === 'number' ? a * b : new CostFormula((evaluation) => evaluation.valueOf(a) * evaluation.valueOf(b));
}

function leafListOf(size: Cost, weight: number): Cost {
  return typeof size === 'number' ? leafListCost(size, weight) : new CostFormula((evaluation) => leafListCost(evaluation.valueOf(size), weight));
}

/** `0 + terms[0] + terms[1] + …`, left to right (the known leading terms added now). */
function sumOf(terms: readonly Cost[]): Cost {
  let known = 0;
  let index = 0;
  for (; index < terms.length; index += 1) {
    const term = terms[index] as Cost;
    if (typeof term !== 'number') break;
    known += term;
  }
  if (index === terms.length) return known;
  const rest = terms.slice(index);
  return new CostFormula((evaluation) => {
    let total = known;
    for (const term of rest) total += evaluation.valueOf(term);
    return total;
  });
}

/** Whether a value as written holds a variable. */
function readsVariable(value: ValueNode): boolean {
  if (value.kind === Kind.VARIABLE) return true;
  if (value.kind === Kind.LIST) return value.values.some(readsVariable);
  if (value.kind === Kind.OBJECT) return value.fields.some((field) => readsVariable(field.value));
  return false;
}

/** A reason to refuse that the walk found (a fragment cycle, a missing slicing argument). */
class Refusal extends Error {}

interface Walk {
  readonly schema: GraphQLSchema;
  readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  /** Fragment summaries by `name|sizedFields`; `null` while being computed (a cycle if met). */
  readonly memo: Map<string, Summary | null>;
  visitedNodes: number;
}

function isIntrospectionType(type: GraphQLNamedType | undefined): boolean {
  return type !== undefined && type.name.startsWith('__');
}

/** A slicing argument's value as a list size: a number the analysis cannot read counts as `fallback`. */
function sliceOf(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.ceil(value) : fallback;
}

/**
 * The size a `@listSize` gives a field in this query: the largest slicing argument given (its
 * default when left out), else the assumed size. A value the analysis cannot read as a number
 * (an explicit null, a string, a missing variable) counts as the assumed size. An argument given
 * by a variable is read per request (the variables over the operation's defaults).
 */
function listSizeFor(field: GraphQLField<unknown, unknown>, node: FieldNode, listSize: ListSize): Cost {
  const fallback = listSize.assumedSize ?? DEFAULT_LIST_SIZE;
  let size: number | null = null;
  const fromVariables: { readonly value: ValueNode; readonly type: GraphQLInputType }[] = [];
  let given = 0;
  for (const name of listSize.slicingArguments) {
    const definition = field.args.find((argument) => argument.name === name);
    if (definition === undefined) continue;
    const argument = node.arguments?.find((candidate) => candidate.name.value === name);
    if (argument !== undefined) given += 1;
    if (argument !== undefined && readsVariable(argument.value)) {
      fromVariables.push({ value: argument.value, type: definition.type });
      continue;
    }
    const value = argument === undefined ? definition.defaultValue : valueFromAST(argument.value, definition.type);
    if (argument === undefined && value === undefined) continue;
    size = Math.max(size ?? 0, sliceOf(value, fallback));
  }
  if (listSize.requireOneSlicingArgument && listSize.slicingArguments.length > 0 && given !== 1) {
    throw new Refusal(`the field "${field.name}" needs exactly one of the arguments ${listSize.slicingArguments.join(', ')}`);
  }
  if (fromVariables.length === 0) return size ?? fallback;
  const known = size ?? 0;
  return new CostFormula((evaluation) => {
    let largest = known;
    for (const { value, type } of fromVariables) largest = Math.max(largest, sliceOf(valueFromAST(value, type, evaluation.variables), fallback));
    return largest;
  });
}

/**
 * `sized`: the field is one of its parent's `sizedFields` (a connection's edges): the parent's
 * size multiplies it, in place of its own list size.
 */
function fieldSummary(walk: Walk, node: FieldNode, parent: GraphQLNamedType | undefined, sized: boolean): Summary {
  const summary = emptySummary();
  summary.aliases = node.alias ? 1 : 0;
  summary.directives = node.directives?.length ?? 0;
  summary.fields = 1;
  const name = node.name.value;
  if (name === '__typename') return summary;

  const introspectionRoot = introspectionWeight(walk.schema, name);
  const inIntrospection = introspectionRoot !== undefined || isIntrospectionType(parent);
  const field = parent !== undefined && isObjectType(parent) ? parent.getFields()[name] : undefined;
  const price = field !== undefined && parent !== undefined && isObjectType(parent) ? priceOf(walk.schema, parent, field) : undefined;
  const childType = name === '__schema' ? getNamedType(SchemaMetaFieldDef.type) : name === '__type' ? getNamedType(TypeMetaFieldDef.type) : price?.namedType;

  // An unknown field (validation refuses it later) is priced like an object, its selection still walked.
  let weight = introspectionRoot ?? (inIntrospection ? 0 : (price?.weight ?? 1));
  if (price !== undefined) {
    for (const argument of node.arguments ?? []) weight += price.argumentWeights.get(argument.name.value) ?? 0;
  }
  const listSize = inIntrospection ? null : (price?.listSize ?? null);
  const size = field !== undefined && listSize !== null ? listSizeFor(field, node, listSize) : 1;

  const children = node.selectionSet ? selectionSetSummary(walk, node.selectionSet, childType, listSize?.sizedFields ?? []) : emptySummary();
  // Each alias inside an introspection root may ask for the whole again.
  if (introspectionRoot !== undefined) summary.cost = weight * (1 + children.aliases);
  // A sized list of scalars: the parent's size counts its appearances, each rounded up alone.
  else if (sized) summary.cost = price?.isLeafList ? leafListCost(1, weight) : plus(weight, children.cost);
  else if (price?.isLeafList) summary.cost = leafListOf(size, weight);
  else if (price?.isList) summary.cost = times(size, plus(weight, children.cost));
  // weight + (children.cost - children.sizedCost) + size * children.sizedCost
  else if (listSize !== null && listSize.sizedFields.length > 0) summary.cost = plus(plus(weight, minus(children.cost, children.sizedCost)), times(size, children.sizedCost));
  else summary.cost = plus(weight, children.cost);

  if (inIntrospection) {
    summary.introspectionDepth = (name === 'ofType' ? 0 : 1) + children.introspectionDepth;
  } else {
    summary.depth = 1 + children.depth;
    summary.introspectionDepth = children.introspectionDepth;
  }
  summary.aliases += children.aliases;
  summary.directives += children.directives;
  summary.spreads = children.spreads;
  summary.fields += children.fields;
  return summary;
}

function fragmentSummary(walk: Walk, name: string, sizedFields: readonly string[]): Summary {
  const fragment = walk.fragments.get(name);
  // An unknown fragment: validation refuses the document after authentication.
  if (fragment === undefined) return emptySummary();
  const key = `${name}|${sizedFields.join(',')}`;
  const known = walk.memo.get(key);
  if (known === null) throw new Refusal(`the fragment "${name}" spreads itself`);
  if (known !== undefined) return known;
  walk.memo.set(key, null);
  const type = walk.schema.getType(fragment.typeCondition.name.value) ?? undefined;
  const summary = selectionSetSummary(walk, fragment.selectionSet, type, sizedFields);
  summary.directives += fragment.directives?.length ?? 0;
  walk.memo.set(key, summary);
  return summary;
}

/**
 * Cost and shape of a selection set under `parent`, by the IBM cost rules read from the schema
 * (weights.ts): a field costs its weight plus its selection; a list multiplies both by its size;
 * a field with `sizedFields` (a connection) multiplies only those fields of its selection.
 */
function selectionSetSummary(walk: Walk, selectionSet: SelectionSetNode, parent: GraphQLNamedType | undefined, sizedFields: readonly string[]): Summary {
  const total = emptySummary();
  const costs: Cost[] = [];
  const sizedCosts: Cost[] = [];
  const add = (part: Summary): void => {
    addShapeInto(total, part);
    costs.push(part.cost);
    sizedCosts.push(part.sizedCost);
  };
  for (const selection of selectionSet.selections) {
    walk.visitedNodes += 1;
    if (selection.kind === Kind.FIELD) {
      const sized = sizedFields.includes(selection.name.value);
      const part = fieldSummary(walk, selection, parent, sized);
      if (sized) part.sizedCost = part.cost;
      add(part);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const type = selection.typeCondition ? (walk.schema.getType(selection.typeCondition.name.value) ?? undefined) : parent;
      const part = selectionSetSummary(walk, selection.selectionSet, type, sizedFields);
      part.directives += selection.directives?.length ?? 0;
      add(part);
    } else {
      const part = { ...fragmentSummary(walk, selection.name.value, sizedFields) };
      part.directives += selection.directives?.length ?? 0;
      part.spreads += 1;
      add(part);
    }
  }
  total.cost = sumOf(costs);
  total.sizedCost = sumOf(sizedCosts);
  return total;
}

function operationOf(operations: readonly OperationDefinitionNode[], operationName: string | undefined): OperationDefinitionNode | undefined {
  if (operationName) return operations.find((operation) => operation.name?.value === operationName);
  return operations.length === 1 ? operations[0] : undefined;
}

/** The largest number of selections one selection set of the document holds, as written. */
function widestSelectionSet(document: DocumentNode): number {
  let widest = 0;
  const stack: SelectionSetNode[] = [];
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION || definition.kind === Kind.FRAGMENT_DEFINITION) stack.push(definition.selectionSet);
  }
  for (let set = stack.pop(); set !== undefined; set = stack.pop()) {
    widest = Math.max(widest, set.selections.length);
    for (const selection of set.selections) if (selection.kind !== Kind.FRAGMENT_SPREAD && selection.selectionSet) stack.push(selection.selectionSet);
  }
  return widest;
}

/**
 * The first response key selected more than `limit` times at one response path of a definition,
 * spreads expanded: what graphql-js's OverlappingFieldsCanBeMergedRule compares pairwise. Run only
 * once the document's fields, counted as they would run, are within `maxFields`, and it stops
 * after `budget` selections (spreads of fragments without fields could expand further): so the
 * walk is bounded by the caps, not by what the spreads could expand to.
 */
function repeatedResponseKey(root: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>, limit: number, budget: { left: number }): string | null {
  const counts = new Map<string, number>();
  const stack: { set: SelectionSetNode; path: string }[] = [{ set: root, path: '' }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    budget.left -= next.set.selections.length;
    if (budget.left < 0) return 'the document expands to too many selections';
    for (const selection of next.set.selections) {
      if (selection.kind === Kind.FIELD) {
        const path = `${next.path}.${selection.alias?.value ?? selection.name.value}`;
        const count = (counts.get(path) ?? 0) + 1;
        if (count > limit) return `the query selects "${path.slice(1)}" more than ${limit} times (fragments merged); the limit is ${limit}`;
        counts.set(path, count);
        if (selection.selectionSet) stack.push({ set: selection.selectionSet, path });
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        stack.push({ set: selection.selectionSet, path: next.path });
      } else {
        const fragment = fragments.get(selection.name.value);
        if (fragment !== undefined) stack.push({ set: fragment.selectionSet, path: next.path });
      }
    }
  }
  return null;
}

/** Why a definition's shape is over a cap, or null. */
function shapeProblem(summary: Summary, limits: QueryLimits): string | null {
  const over = (what: string, count: number, limit: number): string => `the query has ${count} ${what}; the limit is ${limit}`;
  if (summary.spreads > limits.maxSpreads) return over('fragment spreads (counted as it would run)', summary.spreads, limits.maxSpreads);
  if (summary.depth > limits.maxDepth) return `the query nests ${summary.depth} levels deep; the limit is ${limits.maxDepth}`;
  if (summary.introspectionDepth > limits.maxIntrospectionDepth) {
    return `the introspection nests ${summary.introspectionDepth} levels deep; the limit is ${limits.maxIntrospectionDepth}`;
  }
  if (summary.aliases > limits.maxAliases) return over('aliases', summary.aliases, limits.maxAliases);
  if (summary.directives > limits.maxDirectives) return over('directives', summary.directives, limits.maxDirectives);
  return null;
}

/** The request's variables over the defaults the operation declares. */
function effectiveVariables(operation: OperationDefinitionNode, variables: Record<string, unknown>): Record<string, unknown> {
  const effective: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue !== undefined) effective[definition.variable.name.value] = valueFromASTUntyped(definition.defaultValue);
  }
  return { ...effective, ...variables };
}

/** The longest string literal of the document (one walk over a document the token cap bounded). */
function longestStringLiteral(document: DocumentNode): number {
  let longest = 0;
  visit(document, {
    StringValue(node) {
      longest = Math.max(longest, node.value.length);
    },
  });
  return longest;
}

/**
 * What the analysis reads of a document that depends on nothing else, worked out once per parsed
 * document (parseRemembered hands the same document back for the same text) and kept with it:
 * counts, the walk's summaries (per schema), the repeated-key check (per pair of caps it reads).
 * A request then checks its variables, compares these with its caps, and works out the cost
 * formulas of its operation, if any (a slicing argument given by a variable).
 */
interface DocumentPlan {
  readonly longestLiteral: number;
  readonly operations: readonly OperationDefinitionNode[];
  readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>;
  readonly widest: number;
  readonly walks: WeakMap<GraphQLSchema, WalkedDocument>;
  /** {@link repeatedResponseKey} over the document, by `maxSameResponseKey|maxFields`. */
  readonly repeated: Map<string, string | null>;
}

/** The walk of a document's definitions (operations, then fragments), with no caps applied. */
interface WalkedDocument {
  /** Each definition walked, in order, with the visits counted once it was walked. */
  readonly definitions: readonly { readonly definition: OperationDefinitionNode | FragmentDefinitionNode; readonly summary: Summary; readonly visitedNodes: number }[];
  /** Why the walk stopped in the definition after the last one listed (a fragment cycle, a missing slicing argument); null: all walked. */
  readonly refusal: { readonly reason: string; readonly visitedNodes: number } | null;
  readonly visitedNodes: number;
}

const plans = new WeakMap<DocumentNode, DocumentPlan>();

/** Pairs of caps a document's repeated-key check is kept for (callers use one or two). */
const MAX_REPEATED_CHECKS = 4;

function planOf(document: DocumentNode): DocumentPlan {
  let plan = plans.get(document);
  if (plan === undefined) {
    const operations: OperationDefinitionNode[] = [];
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
      else if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
    }
    plan = { longestLiteral: longestStringLiteral(document), operations, fragments, widest: widestSelectionSet(document), walks: new WeakMap(), repeated: new Map() };
    plans.set(document, plan);
  }
  return plan;
}

/**
 * The walk of every definition of the document under `schema`, once: one memo for the whole
 * document, so each fragment is summarised once whatever spreads it. Stops at the first refusal,
 * as a walk under the caps would (those are applied per request, definition by definition).
 */
function walkedDocument(plan: DocumentPlan, schema: GraphQLSchema): WalkedDocument {
  const known = plan.walks.get(schema);
  if (known !== undefined) return known;
  const walk: Walk = { schema, fragments: plan.fragments, memo: new Map(), visitedNodes: 0 };
  const definitions: WalkedDocument['definitions'][number][] = [];
  let refusal: WalkedDocument['refusal'] = null;
  try {
    for (const definition of [...plan.operations, ...plan.fragments.values()]) {
      let summary: Summary;
      if (definition.kind === Kind.FRAGMENT_DEFINITION) {
        summary = fragmentSummary(walk, definition.name.value, []);
      } else {
        const root = schema.getRootType(definition.operation) ?? undefined;
        summary = selectionSetSummary(walk, definition.selectionSet, root, []);
        summary.directives += definition.directives?.length ?? 0;
        for (const variable of definition.variableDefinitions ?? []) summary.directives += variable.directives?.length ?? 0;
      }
      definitions.push({ definition, summary, visitedNodes: walk.visitedNodes });
    }
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    refusal = { reason: error.message, visitedNodes: walk.visitedNodes };
  }
  const walked: WalkedDocument = { definitions, refusal, visitedNodes: walk.visitedNodes };
  plan.walks.set(schema, walked);
  return walked;
}

/**
 * The first response key selected more than `maxSameResponseKey` times at one path of any
 * definition, or null. Every field is one selection, and a spread or an inline fragment more than
 * doubles nothing that a real document needs: four selections per field counted is plenty.
 */
function repeatedKeyOf(plan: DocumentPlan, limits: QueryLimits): string | null {
  const key = `${limits.maxSameResponseKey}|${limits.maxFields}`;
  const known = plan.repeated.get(key);
  if (known !== undefined) return known;
  const budget = { left: 4 * limits.maxFields };
  let repeated: string | null = null;
  for (const definition of [...plan.operations, ...plan.fragments.values()]) {
    repeated = repeatedResponseKey(definition.selectionSet, plan.fragments, limits.maxSameResponseKey, budget);
    if (repeated !== null) break;
  }
  if (plan.repeated.size >= MAX_REPEATED_CHECKS) plan.repeated.clear();
  plan.repeated.set(key, repeated);
  return repeated;
}

/** A definition's cost for this request: its formulas, if any, over the variables and the operation's defaults. */
function costFor(cost: Cost, operation: OperationDefinitionNode, variables: Record<string, unknown>): number {
  return typeof cost === 'number' ? cost : new CostEvaluation(effectiveVariables(operation, variables)).valueOf(cost);
}

function tooComplex(reason: string, cost: number | null, visitedNodes: number): QueryAnalysis {
  return { kind: 'tooComplex', reason, cost: cost !== null && Number.isFinite(cost) ? cost : null, visitedNodes };
}

/**
 * Checks a query's variables and shape and estimates its cost before execution, without
 * validating it (Apollo does that after authentication). Parsing stops at `maxTokens`, every
 * fragment is read once, and the variables are bounded before anything reads them: the work is
 * linear in the size of the request, whatever it holds.
 *
 * The shape caps hold for every definition of the document, not only the operation that runs:
 * validation reads them all (an operation never selected, an unused fragment), and its
 * OverlappingFieldsCanBeMergedRule is quadratic in same-named fields, so the whole document's
 * fields, the width of each selection set and the repeats of one response key are capped too.
 *
 * Everything but the variables' bounds and the slicing arguments given by variables is worked out
 * once per parsed document ({@link DocumentPlan}): a repeated query costs a look-up, the caps'
 * comparisons and its cost formulas, and is answered exactly as a first one.
 */
export function analyzeQuery(schema: GraphQLSchema, source: string, operationName: string | undefined, variables: Record<string, unknown>, limits: QueryLimits): QueryAnalysis {
  if (source.length > limits.maxQueryLength) return tooComplex(`the query is longer than ${limits.maxQueryLength} characters`, null, 0);
  const variablesProblem = checkVariables(variables, limits.variables);
  if (variablesProblem !== null) return tooComplex(variablesProblem, null, 0);
  let document: DocumentNode;
  try {
    document = parseRemembered(source, limits.maxTokens);
  } catch (error) {
    if (error instanceof GraphQLError && /contains more th\w* \d+ tokens/i.test(error.message)) {
      return tooComplex(`the document has more than ${limits.maxTokens} tokens`, null, 0);
    }
    return { kind: 'unparsed' };
  }
  const plan = planOf(document);
  if (plan.longestLiteral > limits.maxStringLiteralLength) {
    return tooComplex(`a string in the query is longer than ${limits.maxStringLiteralLength} characters`, null, 0);
  }
  const { operations, fragments } = plan;
  if (fragments.size > limits.maxFragments) return tooComplex(`the document defines ${fragments.size} fragments; the limit is ${limits.maxFragments}`, null, 0);
  if (operations.length > limits.maxOperations) return tooComplex(`the document defines ${operations.length} operations; the limit is ${limits.maxOperations}`, null, 0);
  if (plan.widest > limits.maxSelections) return tooComplex(`a selection set holds ${plan.widest} selections; the limit is ${limits.maxSelections}`, null, 0);

  const operation = operationOf(operations, operationName);
  // Slicing arguments read the selected operation's variables.
  const walked = walkedDocument(plan, schema);
  let selected: Summary | undefined;
  let fields = 0;
  for (const { definition, summary, visitedNodes } of walked.definitions) {
    if (definition === operation) selected = summary;
    const problem = shapeProblem(summary, limits);
    if (problem !== null) return tooComplex(problem, definition === operation ? costFor(summary.cost, definition, variables) : null, visitedNodes);
    fields += summary.fields;
  }
  if (walked.refusal !== null) return tooComplex(walked.refusal.reason, null, walked.refusal.visitedNodes);
  if (fields > limits.maxFields) {
    return tooComplex(`the document has ${fields} fields (counted as validation reads them); the limit is ${limits.maxFields}`, null, walked.visitedNodes);
  }
  const repeated = repeatedKeyOf(plan, limits);
  if (repeated !== null) return tooComplex(repeated, null, walked.visitedNodes);
  if (operation === undefined || selected === undefined) return { kind: 'unparsed' };
  const cost = costFor(selected.cost, operation, variables);
  const visitedNodes = walked.visitedNodes;
  if (cost > limits.maxCost) {
    const shown = Number.isFinite(cost) && cost < 1e15 ? String(cost) : 'more than 10^15';
    return tooComplex(`the query would cost ${shown} points; the limit is ${limits.maxCost} (lower "first" or select less)`, cost, visitedNodes);
  }
  return { kind: 'ok', cost, visitedNodes };
}
