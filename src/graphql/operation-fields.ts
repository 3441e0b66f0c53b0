import { getNamedType, isInterfaceType, isObjectType, Kind } from 'graphql';
import type {
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  FragmentSpreadNode,
  GraphQLField,
  GraphQLNamedType,
  GraphQLObjectType,
  GraphQLInterfaceType,
  GraphQLSchema,
  InlineFragmentNode,
  OperationDefinitionNode,
  SelectionSetNode,
} from 'graphql';

/** One field an operation selects, with its schema definition and the type it is selected on. */
export interface SelectedField {
  readonly node: FieldNode;
  readonly field: GraphQLField<unknown, unknown>;
  readonly parentType: GraphQLObjectType | GraphQLInterfaceType;
  /** `Type.field`: aliases do not matter, the field does. */
  readonly coordinate: string;
  /** Whether the field runs: false when it, or a selection above it, is left out by `runs`. */
  readonly runs: boolean;
}

/**
 * Calls `visit` for every schema field an operation selects, nested ones and those in fragments and
 * inline fragments included, after validation (an unknown field or a selection on a leaf cannot get
 * here). Meta fields (`__typename`, introspection) are not ours and are skipped.
 *
 * `runs` tells which selections execute (e.g. under `@skip`/`@include` and the request's variables);
 * a selection it leaves out is still walked, with what is under it, and visited with `runs: false`,
 * so one walk serves both a check of every field asked for and a check of the fields that execute.
 *
 * Each fragment is walked at most twice, once where it runs and once where it does not (its type
 * condition fixes its parent type, so every spread of it asks for the same fields), so the walk is
 * linear in the document's size; once walked where it runs, a spread that does not run is not walked
 * again. Fields are visited in document order, each fragment at its first spread (and again at its
 * first running spread when that comes later).
 */
export function forEachSelectedField(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  visit: (selected: SelectedField) => void,
  runs: (node: FieldNode | FragmentSpreadNode | InlineFragmentNode) => boolean = () => true,
): void {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const walkedRunning = new Set<string>();
  const walkedNotRunning = new Set<string>();

  const walk = (selectionSet: SelectionSetNode, parentType: GraphQLNamedType | undefined | null, parentRuns: boolean): void => {
    for (const selection of selectionSet.selections) {
      const selectionRuns = parentRuns && runs(selection);
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet, selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parentType, selectionRuns);
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (fragment === undefined || walkedRunning.has(name) || (!selectionRuns && walkedNotRunning.has(name))) continue;
        (selectionRuns ? walkedRunning : walkedNotRunning).add(name);
        walk(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value), selectionRuns);
      } else {
        if (!isObjectType(parentType) && !isInterfaceType(parentType)) continue;
        const field = parentType.getFields()[selection.name.value];
        if (field === undefined) continue; // __typename, __schema, __type
        visit({ node: selection, field, parentType, coordinate: `${parentType.name}.${field.name}`, runs: selectionRuns });
        if (selection.selectionSet) walk(selection.selectionSet, getNamedType(field.type), selectionRuns);
      }
    }
  };
  walk(operation.selectionSet, schema.getRootType(operation.operation), true);
}

/** The fields an operation selects, as {@link selectedFieldsOf} remembers them. */
export interface OperationFields {
  /**
   * Whether a selection carries a directive (`@skip`/`@include`): then which fields run depends on
   * the request's variables, and `fields` does not say.
   */
  readonly conditional: boolean;
  /** Every field the operation selects, in walk order, each fragment walked once; all run unless `conditional`. */
  readonly fields: readonly SelectedField[];
}

const fieldsOfOperation = new WeakMap<OperationDefinitionNode, { readonly schema: GraphQLSchema; readonly fields: OperationFields }>();

/**
 * The fields of {@link forEachSelectedField} for an operation, walked once per parsed operation and
 * schema and remembered beside the operation node: they depend on the document alone, and Apollo
 * hands every request of the same query text the same parsed document (its document cache).
 */
export function selectedFieldsOf(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): OperationFields {
  const known = fieldsOfOperation.get(operation);
  if (known !== undefined && known.schema === schema) return known.fields;
  let conditional = false;
  const fields: SelectedField[] = [];
  forEachSelectedField(
    schema,
    document,
    operation,
    (selected) => fields.push(selected),
    (node) => {
      if (node.directives?.length) conditional = true;
      return true;
    },
  );
  const remembered = { conditional, fields };
  fieldsOfOperation.set(operation, { schema, fields: remembered });
  return remembered;
}
