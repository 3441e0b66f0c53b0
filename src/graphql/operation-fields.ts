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
}

/**
 * Calls `visit` for every schema field an operation selects, nested ones and those in fragments and
 * inline fragments included, after validation (an unknown field or a selection on a leaf cannot get
 * here). Meta fields (`__typename`, introspection) are not ours and are skipped. Each fragment is
 * walked once: its type condition fixes its parent type, so every spread of it asks for the same
 * fields, and the walk is linear in the document's size. `include` leaves out selections (and what
 * is under them), e.g. those `@skip`/`@include` will not run.
 */
export function forEachSelectedField(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  visit: (selected: SelectedField) => void,
  include: (node: FieldNode | FragmentSpreadNode | InlineFragmentNode) => boolean = () => true,
): void {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const walkedFragments = new Set<string>();

  const walk = (selectionSet: SelectionSetNode, parentType: GraphQLNamedType | undefined | null): void => {
    for (const selection of selectionSet.selections) {
      if (!include(selection)) continue;
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet, selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parentType);
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (walkedFragments.has(name) || fragment === undefined) continue;
        walkedFragments.add(name);
        walk(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value));
      } else {
        if (!isObjectType(parentType) && !isInterfaceType(parentType)) continue;
        const field = parentType.getFields()[selection.name.value];
        if (field === undefined) continue; // __typename, __schema, __type
        visit({ node: selection, field, parentType, coordinate: `${parentType.name}.${field.name}` });
        if (selection.selectionSet) walk(selection.selectionSet, getNamedType(field.type));
      }
    }
  };
  walk(operation.selectionSet, schema.getRootType(operation.operation));
}
