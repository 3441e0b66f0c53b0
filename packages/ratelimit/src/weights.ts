import { getDirectiveValues, getIntrospectionQuery, getNamedType, graphqlSync, isLeafType, isListType, isNonNullType } from 'graphql';
import type { ASTNode, GraphQLArgument, GraphQLField, GraphQLNamedType, GraphQLObjectType, GraphQLSchema, GraphQLType } from 'graphql';

/**
 * What the IBM cost directives on a schema say, read once per schema and field: the static
 * analysis (analyze.ts) and the after-the-fact count (actual.ts) price with the same numbers.
 */

/**
 * Defaults for what carries no `@cost` (DESIGN.md): scalars and enums 0, objects 1, mutations 10.
 * An item of a list of scalars or enums costs 1/16 (`leafListItem`), a list's total rounded up: a
 * lone scalar rides in its object's price, but a list of them is as long as its size says (100
 * IPv6 ranges of an allowlist are ~4.5 KB), so it must be paid for, or aliases repeat it for free.
 * One item is a short string, a sixteenth of a typical object's bytes or less; and a power of two
 * keeps size × weight exact, so the estimate and the count round alike.
 */
export const DEFAULT_WEIGHTS = { leaf: 0, composite: 1, mutationField: 10, leafListItem: 1 / 16 } as const;

/** The size of a list whose field has no `@listSize` and no slicing argument. */
export const DEFAULT_LIST_SIZE = 100;

/**
 * What one `__schema` or `__type` costs: as many points as objects a full introspection of this
 * schema returns (graphql-js's own introspection query, which every IDE sends), resp. its largest
 * type. Introspection's answer is bounded by the schema, not by data; its other shapes are kept
 * near that size by a nesting cap of their own (`maxIntrospectionDepth`), and each alias inside
 * prices the whole again. Computed once per schema; `__typename` is free.
 */
export interface IntrospectionWeights {
  readonly __schema: number;
  readonly __type: number;
}

const introspectionWeightsOf = new WeakMap<GraphQLSchema, IntrospectionWeights>();

/** Objects in a JSON answer, lists item by item (the object it starts from included). */
export function objectsIn(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + objectsIn(item), 0);
  if (value === null || typeof value !== 'object') return 0;
  let total = 1;
  for (const item of Object.values(value)) total += objectsIn(item);
  return total;
}

export function introspectionWeights(schema: GraphQLSchema): IntrospectionWeights {
  let weights = introspectionWeightsOf.get(schema);
  if (weights === undefined) {
    const answer = graphqlSync({ schema, source: getIntrospectionQuery({ descriptions: false }) }).data as { __schema?: { types?: unknown[] } } | null | undefined;
    const types = answer?.__schema?.types ?? [];
    weights = {
      __schema: Math.max(1, objectsIn(answer?.__schema)),
      __type: Math.max(1, ...types.map((type) => objectsIn(type))),
    };
    introspectionWeightsOf.set(schema, weights);
  }
  return weights;
}

/** The weight of an introspection root field, or undefined for any other name. */
export function introspectionWeight(schema: GraphQLSchema, name: string): number | undefined {
  return name === '__schema' || name === '__type' ? introspectionWeights(schema)[name] : undefined;
}

export interface ListSize {
  readonly assumedSize: number | null;
  readonly slicingArguments: readonly string[];
  /** Fields of the returned object the size applies to; empty: it applies to this (list) field. */
  readonly sizedFields: readonly string[];
  readonly requireOneSlicingArgument: boolean;
}

/** How one field of one parent type is priced. */
export interface FieldPrice {
  /** What one appearance of the field adds (per item when it is a list). */
  readonly weight: number;
  /** Non-null when the field returns a list or a sized object (`@listSize`, or a plain list). */
  readonly listSize: ListSize | null;
  /** True for a list field without `sizedFields`: its own cost and its selection's are multiplied. */
  readonly isList: boolean;
  /**
   * True for a list of scalars or enums: it costs `weight` per item (DEFAULT_WEIGHTS.leafListItem
   * unless a `@cost` says otherwise), the list's total rounded up ({@link leafListCost}).
   */
  readonly isLeafList: boolean;
  /** The type its selection set is read against. */
  readonly namedType: GraphQLNamedType;
  /** Arguments that carry a weight of their own (`@cost` on an argument definition). */
  readonly argumentWeights: ReadonlyMap<string, number>;
}

/** A field, argument or type: what carries directives. */
interface DirectiveHolder {
  readonly astNode?: ASTNode | null | undefined;
  readonly extensionASTNodes?: readonly ASTNode[] | undefined;
  readonly extensions?: { readonly directives?: unknown } | null | undefined;
}

/**
 * The arguments of the first `@name` on a field, argument or type: from its SDL (`astNode`, which
 * SDL-first schemas and type-graphql's `@Directive` fill), its extensions' SDL, or, for code-first
 * schemas built with graphql-tools, `extensions.directives` (an object or a list per name).
 */
function directiveOf(schema: GraphQLSchema, holder: DirectiveHolder, name: string): Record<string, unknown> | undefined {
  const inExtensions = (holder.extensions?.directives as Record<string, unknown> | undefined)?.[name];
  if (inExtensions !== undefined && inExtensions !== null) {
    const first: unknown = Array.isArray(inExtensions) ? inExtensions[0] : inExtensions;
    if (typeof first === 'object' && first !== null) return first as Record<string, unknown>;
  }
  const definition = schema.getDirective(name);
  if (definition === undefined || definition === null) return undefined;
  for (const node of [holder.astNode, ...(holder.extensionASTNodes ?? [])]) {
    if (node === undefined || node === null || !('directives' in node)) continue;
    const values = getDirectiveValues(definition, node);
    if (values !== undefined) return values;
  }
  return undefined;
}

function weightOf(schema: GraphQLSchema, node: DirectiveHolder): number | null {
  const directive = directiveOf(schema, node, 'cost');
  if (directive === undefined) return null;
  const weight = Number(directive.weight);
  // A weight that is not a number would price the field at nothing: price it like an object instead.
  return Number.isFinite(weight) && weight >= 0 ? weight : DEFAULT_WEIGHTS.composite;
}

function listSizeOf(schema: GraphQLSchema, field: GraphQLField<unknown, unknown>): ListSize | null {
  const directive = directiveOf(schema, field, 'listSize');
  if (directive === undefined) return null;
  const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
  const assumed = directive.assumedSize;
  return {
    assumedSize: typeof assumed === 'number' && Number.isInteger(assumed) && assumed >= 0 ? assumed : null,
    slicingArguments: strings(directive.slicingArguments),
    sizedFields: strings(directive.sizedFields),
    requireOneSlicingArgument: directive.requireOneSlicingArgument !== false,
  };
}

function isList(type: GraphQLType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

// Keyed by the field object: each object type has its own field objects, so a field names its
// parent too, and the look-up builds no "Type.field" string per field of every walk.
const prices = new WeakMap<GraphQLSchema, WeakMap<GraphQLField<unknown, unknown>, FieldPrice>>();

/**
 * The price of `parent.field`, from the directives on the field, then on its type, then the
 * defaults; memoised per schema, so a walk pays a map look-up per field.
 */
export function priceOf(schema: GraphQLSchema, parent: GraphQLObjectType, field: GraphQLField<unknown, unknown>): FieldPrice {
  let perSchema = prices.get(schema);
  if (perSchema === undefined) {
    perSchema = new WeakMap();
    prices.set(schema, perSchema);
  }
  let price = perSchema.get(field);
  if (price === undefined) {
    const namedType = getNamedType(field.type);
    const isMutationField = parent === schema.getMutationType();
    const list = isList(field.type);
    const isLeafList = list && isLeafType(namedType);
    const fallback = isLeafList ? DEFAULT_WEIGHTS.leafListItem : isLeafType(namedType) ? DEFAULT_WEIGHTS.leaf : isMutationField ? DEFAULT_WEIGHTS.mutationField : DEFAULT_WEIGHTS.composite;
    const weight = weightOf(schema, field) ?? weightOf(schema, namedType) ?? fallback;
    const declared = listSizeOf(schema, field);
    const listSize = declared ?? (list ? { assumedSize: DEFAULT_LIST_SIZE, slicingArguments: [], sizedFields: [], requireOneSlicingArgument: false } : null);
    const argumentWeights = new Map<string, number>();
    for (const argument of field.args as readonly GraphQLArgument[]) {
      const argumentWeight = weightOf(schema, argument);
      if (argumentWeight !== null) argumentWeights.set(argument.name, argumentWeight);
    }
    price = { weight, listSize, isList: list && (listSize?.sizedFields.length ?? 0) === 0, isLeafList, namedType, argumentWeights };
    perSchema.set(field, price);
  }
  return price;
}

/** What a list of `items` scalars costs at `weight` each: rounded up, so the estimate and the count agree. */
export function leafListCost(items: number, weight: number): number {
  return Math.ceil(items * weight);
}
