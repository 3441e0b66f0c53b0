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
