import { DirectiveLocation, GraphQLBoolean, GraphQLDirective, GraphQLInt, GraphQLList, GraphQLNonNull, GraphQLString } from 'graphql';

/**
 * The two directives of the IBM GraphQL Cost Directive specification
 * (https://ibm.github.io/graphql-specs/cost-spec.html), the ones Apollo Router, GraphQL Hive and
 * Cosmo read. They are declared on the schema's fields and types in code, printed into
 * `schema.graphql`, and read back from the schema by the cost analysis: one source of truth.
 */

/**
 * `@cost(weight:)`: what one appearance of a field, argument or type adds to the cost. The weight
 * is a string in the specification (so that it may hold a decimal); onceql's are whole numbers.
 */
export const costDirective = new GraphQLDirective({
  name: 'cost',
  description: 'The IBM cost specification: what every appearance of this field, argument or type adds to the cost of a query.',
  locations: [
    DirectiveLocation.ARGUMENT_DEFINITION,
    DirectiveLocation.ENUM,
    DirectiveLocation.FIELD_DEFINITION,
    DirectiveLocation.INPUT_FIELD_DEFINITION,
    DirectiveLocation.OBJECT,
    DirectiveLocation.SCALAR,
  ],
  args: {
    weight: { type: new GraphQLNonNull(GraphQLString), description: 'The weight, a number written as a string.' },
  },
});

/**
 * `@listSize(...)`: how many items a list (or, through `sizedFields`, a connection) returns: the
 * value of a slicing argument such as `first`, else `assumedSize`.
 */
export const listSizeDirective = new GraphQLDirective({
  name: 'listSize',
  description: 'The IBM cost specification: how many items this list field, or the sized fields of the object it returns, hold at most.',
  locations: [DirectiveLocation.FIELD_DEFINITION],
  args: {
    assumedSize: { type: GraphQLInt, description: 'The size when no slicing argument gives it.' },
    slicingArguments: { type: new GraphQLList(new GraphQLNonNull(GraphQLString)), description: 'Arguments whose value is the size (the largest one given counts).' },
    sizedFields: { type: new GraphQLList(new GraphQLNonNull(GraphQLString)), description: 'Fields of the returned object that the size applies to (a connection\'s "edges"), instead of this field.' },
    requireOneSlicingArgument: { type: GraphQLBoolean, defaultValue: true, description: 'Whether a query must give exactly one slicing argument.' },
  },
});

export const COST_DIRECTIVES: readonly GraphQLDirective[] = [costDirective, listSizeDirective];

