import { BREAK, isLeafType, isObjectType, Kind, visit } from 'graphql';
import type { DocumentNode, FieldNode, FragmentDefinitionNode, GraphQLObjectType, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { collectFields, collectSubfields } from 'graphql/execution/collectFields';
import { leafListCost, objectsIn, priceOf } from './weights';
import type { FieldPrice } from './weights';

/**
 * `actualQueryCost`: the same rules as the estimate (weights.ts), applied to what the response
 * holds, with the real lengths of its lists. Fields are collected the way graphql-js executes
 * them (fragments once per object, same response keys merged, @skip/@include applied), so the
 * walk is linear in the size of the response times the size of the selection.
 *
 * A field that answered null still counts its weight (its resolver ran), its selection does not.
 *
 * Which fields are collected where depends on the variables only through `@skip(if: $v)` and
 * `@include(if: $v)`. A document without such a directive (see {@link countReadsVariables}) is
 * counted with the fields collected once per operation and remembered with it, so a repeated query
 * collects nothing and only walks its answer; the `variables` are then not read.
 */
export function actualQueryCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>, data: unknown): number {
  const root = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  if (root === null || root === undefined || !isRecord(data)) return 0;
  const walk = countReadsVariables(document) ? responseWalk(schema, document, variables) : rememberedWalk(schema, document, operation);
  if (walk.root === undefined) walk.root = compile(walk, root, collectFields(schema, walk.fragments, walk.variables, root, operation.selectionSet));
  const total = objectCost(walk, walk.root, data);
  // Too large to keep: counted per request from now on.
  if (walk.remembered && walk.compiled > MAX_REMEMBERED_FIELDS) rememberedWalks.set(operation, null);
  return total;
}

/** No variables: what a remembered walk collects fields with (no directive of its document reads one). */
const NO_VARIABLES: Record<string, unknown> = Object.freeze(Object.create(null) as Record<string, unknown>);

/** Whether a document's directives read variables, by document. */
const readsVariables = new WeakMap<DocumentNode, boolean>();

/**
 * Whether counting this document's answers needs the request's variables: some directive of the
 * document has a variable in its arguments (`@skip(if: $s)`, `@include(if: $i)`; any other
 * directive with one is counted too, to be safe). One walk per document, remembered.
 */
export function countReadsVariables(document: DocumentNode): boolean {
  let reads = readsVariables.get(document);
  if (reads === undefined) {
    let found = false;
    visit(document, {
      // Variable definitions name variables, they do not read them.
      VariableDefinition: () => false,
      Directive(node) {
        visit(node, {
          Variable() {
            found = true;
            return BREAK;
          },
        });
        return found ? BREAK : false;
      },
    });
    reads = found;
    readsVariables.set(document, reads);
  }
  return reads;
}

/**
 * One field of a selection as the count reads it: a response key, and how it is priced. Fields the
 * schema does not know (only `__typename`, once validation has passed) and fields that count 0
 * whatever they hold (scalars and enums at weight 0) are left out.
 */
interface CountedField {
  readonly responseKey: string;
  readonly nodes: readonly FieldNode[];
  /** Undefined for `__schema` and `__type`: counted by the objects they returned. */
  readonly price: FieldPrice | undefined;
  /** The type its selection is collected under: an object type of the schema's own, else null (its weight only). */
  readonly objectType: GraphQLObjectType | null;
  /** Its selection under `objectType`, collected when an answer first has an object here. */
  children: readonly CountedField[] | undefined;
}

interface ResponseWalk {
  readonly schema: GraphQLSchema;
  readonly fragments: Record<string, FragmentDefinitionNode>;
  readonly variables: Record<string, unknown>;
  /** The operation's root selection, collected on first need. */
  root: readonly CountedField[] | undefined;
  /** Whether the walk is kept for the next request of the same operation. */
  readonly remembered: boolean;
  /** Fields compiled so far (see {@link MAX_REMEMBERED_FIELDS}). */
  compiled: number;
}

/**
 * The most fields a remembered walk compiles. Each one stands for a field of the document under one
 * path of the answer; a document the estimate admits has far fewer (`maxFields` counts them with
 * fragments expanded, 800 by default). Past this the walk is forgotten and the operation is counted
 * per request, as if its directives read variables: memory stays bounded by the documents kept.
 */
const MAX_REMEMBERED_FIELDS = 5000;

function fragmentsOf(document: DocumentNode): Record<string, FragmentDefinitionNode> {
  const fragments: Record<string, FragmentDefinitionNode> = Object.create(null) as Record<string, FragmentDefinitionNode>;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  return fragments;
}

function responseWalk(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>, remembered = false): ResponseWalk {
  return { schema, fragments: fragmentsOf(document), variables, root: undefined, remembered, compiled: 0 };
}

/** Remembered walks by operation (a document's operations are its own objects); null: not to be remembered. */
const rememberedWalks = new WeakMap<OperationDefinitionNode, ResponseWalk | null>();

function rememberedWalk(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): ResponseWalk {
  const known = rememberedWalks.get(operation);
  if (known === null) return responseWalk(schema, document, NO_VARIABLES);
  if (known !== undefined && known.schema === schema) return known;
  const walk = responseWalk(schema, document, NO_VARIABLES, true);
  rememberedWalks.set(operation, walk);
  return walk;
}

/** The fields of a collected selection under `type`, in the order collected, priced. */
function compile(walk: ResponseWalk, type: GraphQLObjectType, fields: Map<string, readonly FieldNode[]>): readonly CountedField[] {
  const counted: CountedField[] = [];
  for (const [responseKey, nodes] of fields) {
    const node = nodes[0];
    if (node === undefined) continue;
    const name = node.name.value;
    if (name === '__schema' || name === '__type') {
      // Priced by the schema's size before; counted here by what it returned.
      counted.push({ responseKey, nodes, price: undefined, objectType: null, children: undefined });
      continue;
    }
    const field = type.getFields()[name];
    if (field === undefined) continue;
    const price = priceOf(walk.schema, type, field);
    const named = price.namedType;
    const objectType = !isLeafType(named) && isObjectType(named) && !named.name.startsWith('__') ? named : null;
    // A field without a selection to walk counts its weight per value (a list: per item), whatever
    // the value: at weight 0 (scalars, enums) it adds exactly 0, so it is not visited at all.
    if (objectType === null && !price.isLeafList && price.weight === 0) continue;
    counted.push({ responseKey, nodes, price, objectType, children: undefined });
  }
  walk.compiled += counted.length;
  return counted;
}

/**
 * `collectSubfields` once per field of the selection, as graphql-js memoises it while executing:
 * every item of a list shares its field nodes, so a page of 20 collects its selection once, not 20
 * times (and a remembered walk, once for every request of the operation).
 */
function childrenOf(walk: ResponseWalk, field: CountedField, type: GraphQLObjectType): readonly CountedField[] {
  if (field.children === undefined) field.children = compile(walk, type, collectSubfields(walk.schema, walk.fragments, walk.variables, type, field.nodes));
  return field.children;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function objectCost(walk: ResponseWalk, fields: readonly CountedField[], value: Record<string, unknown>): number {
  let total = 0;
  for (const field of fields) {
    if (!(field.responseKey in value)) continue;
    const item = value[field.responseKey];
    const price = field.price;
    if (price === undefined) {
      total += objectsIn(item);
      continue;
    }
    // A list that answered null returned nothing; the estimate may have priced it at size 0.
    if (price.isList && item === null) continue;
    if (price.isLeafList && Array.isArray(item)) {
      total += leafListCost(item.length, price.weight);
      continue;
    }
    total += valueCost(walk, field, price.weight, item);
  }
  return total;
}

function valueCost(walk: ResponseWalk, field: CountedField, weight: number, value: unknown): number {
  if (Array.isArray(value)) {
    let total = 0;
    for (const item of value) if (item !== null) total += valueCost(walk, field, weight, item);
    return total;
  }
  if (value === null || value === undefined || field.objectType === null || !isRecord(value)) return weight;
  return weight + objectCost(walk, childrenOf(walk, field, field.objectType), value);
}
