import { isLeafType, isObjectType, Kind } from 'graphql';
import type { DocumentNode, FieldNode, FragmentDefinitionNode, GraphQLNamedType, GraphQLObjectType, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { collectFields, collectSubfields } from 'graphql/execution/collectFields';
import { leafListCost, objectsIn, priceOf } from './weights';

/**
 * `actualQueryCost`: the same rules as the estimate (weights.ts), applied to what the response
 * holds, with the real lengths of its lists. Fields are collected the way graphql-js executes
 * them (fragments once per object, same response keys merged, @skip/@include applied), so the
 * walk is linear in the size of the response times the size of the selection.
 *
 * A field that answered null still counts its weight (its resolver ran), its selection does not.
 */
export function actualQueryCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>, data: unknown): number {
  const root = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  if (root === null || root === undefined || !isRecord(data)) return 0;
  const fragments: Record<string, FragmentDefinitionNode> = Object.create(null) as Record<string, FragmentDefinitionNode>;
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  const walk: ResponseWalk = { schema, fragments, variables, subfields: new Map() };
  return objectCost(walk, root, collectFields(schema, fragments, variables, root, operation.selectionSet), data);
}

interface ResponseWalk {
  readonly schema: GraphQLSchema;
  readonly fragments: Record<string, FragmentDefinitionNode>;
  readonly variables: Record<string, unknown>;
  /**
   * `collectSubfields` per field nodes and type, as graphql-js memoises it while executing: every
   * item of a list shares its field nodes, so a page of 20 collects its selection once, not 20 times.
   */
  readonly subfields: Map<readonly FieldNode[], Map<GraphQLObjectType, Map<string, readonly FieldNode[]>>>;
}

function subfieldsOf(walk: ResponseWalk, type: GraphQLObjectType, nodes: readonly FieldNode[]): Map<string, readonly FieldNode[]> {
  let byType = walk.subfields.get(nodes);
  if (byType === undefined) {
    byType = new Map();
    walk.subfields.set(nodes, byType);
  }
  let fields = byType.get(type);
  if (fields === undefined) {
    fields = collectSubfields(walk.schema, walk.fragments, walk.variables, type, nodes);
    byType.set(type, fields);
  }
  return fields;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function objectCost(walk: ResponseWalk, type: GraphQLObjectType, fields: Map<string, readonly FieldNode[]>, value: Record<string, unknown>): number {
  let total = 0;
  for (const [responseKey, nodes] of fields) {
    const node = nodes[0];
    if (node === undefined || !(responseKey in value)) continue;
    const name = node.name.value;
    if (name === '__schema' || name === '__type') {
      // Priced by the schema's size before; counted here by what it returned.
      total += objectsIn(value[responseKey]);
      continue;
    }
    const field = type.getFields()[name];
    if (field === undefined) continue;
    const price = priceOf(walk.schema, type, field);
    // A list that answered null returned nothing; the estimate may have priced it at size 0.
    if (price.isList && value[responseKey] === null) continue;
    const item = value[responseKey];
    if (price.isLeafList && Array.isArray(item)) {
      total += leafListCost(item.length, price.weight);
      continue;
    }
    total += valueCost(walk, price.weight, price.namedType, nodes, value[responseKey]);
  }
  return total;
}

function valueCost(walk: ResponseWalk, weight: number, type: GraphQLNamedType, nodes: readonly FieldNode[], value: unknown): number {
  if (Array.isArray(value)) {
    let total = 0;
    for (const item of value) if (item !== null) total += valueCost(walk, weight, type, nodes, item);
    return total;
  }
  if (value === null || value === undefined || isLeafType(type) || !isObjectType(type) || !isRecord(value)) return weight;
  if (type.name.startsWith('__')) return weight;
  return weight + objectCost(walk, type, subfieldsOf(walk, type, nodes), value);
}
