import { buildSchema } from 'graphql';
import { analyzeQuery, DEFAULT_QUERY_LIMITS } from '@onceql/ratelimit';
import type { QueryAnalysis } from '@onceql/ratelimit';

/**
 * Golden cases of the cost analysis on a schema that is not onceql's (SDL, the IBM directives
 * written in it): document + variables → cost, visited nodes, refusal. A change of any number
 * here changes what adopters' clients are charged: change it on purpose, with a note.
 */
const schema = buildSchema(`
  directive @cost(weight: String!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
  directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION

  type Query {
    book(id: ID!): Book
    books(first: Int = 10, last: Int): BookConnection! @listSize(assumedSize: 50, slicingArguments: ["first", "last"], sizedFields: ["edges"], requireOneSlicingArgument: false)
    authors: [Author!]!
    tags: [String!]! @listSize(assumedSize: 32)
    search(term: String!): [Book!]! @cost(weight: "5") @listSize(assumedSize: 10)
  }
  type Mutation {
    addBook(title: String!): Book
    rate(id: ID!, stars: Int! @cost(weight: "3")): Book
  }
  type BookConnection { edges: [BookEdge!]!, total: Int! }
  type BookEdge { node: Book! }
  type Book { id: ID!, title: String!, author: Author!, similar: [Book!]! @listSize(assumedSize: 3) }
  type Author @cost(weight: "2") { name: String!, books(first: Int): [Book!]! @listSize(slicingArguments: ["first"]) }
`);

const limits = { ...DEFAULT_QUERY_LIMITS, maxCost: 1000 };

const nested = (levels: number): string => `{ book(id: "1") ${'{ similar '.repeat(levels - 2)}{ id }${' }'.repeat(levels - 2)} }`;

// [what, document, variables, expected analysis]
const GOLDEN: readonly [string, string, Record<string, unknown>, QueryAnalysis][] = [
  ['a leaf costs 0', '{ __typename }', {}, { kind: 'ok', cost: 0, visitedNodes: 1 }],
  ['an object costs 1', '{ book(id: "1") { id title } }', {}, { kind: 'ok', cost: 1, visitedNodes: 3 }],
  ['@cost on a type prices every field of that type', '{ book(id: "1") { author { name } } }', {}, { kind: 'ok', cost: 1 + 2, visitedNodes: 3 }],
  ['a connection by its slicing argument default (sizedFields: edges)', '{ books { edges { node { id } } total } }', {}, { kind: 'ok', cost: 1 + 10 * (1 + 1), visitedNodes: 5 }],
  ['a slicing argument from a variable', 'query($n: Int) { books(first: $n) { edges { node { id author { name } } } } }', { n: 4 }, { kind: 'ok', cost: 1 + 4 * (1 + 1 + 2), visitedNodes: 6 }],
  ['the largest of two slicing arguments', '{ books(first: 2, last: 7) { edges { node { id } } } }', {}, { kind: 'ok', cost: 1 + 7 * 2, visitedNodes: 4 }],
  ['a plain list: 100 items of its type weight', '{ authors { name } }', {}, { kind: 'ok', cost: 100 * 2, visitedNodes: 2 }],
  ['a list of scalars: 1/16 per item, rounded up', '{ tags }', {}, { kind: 'ok', cost: 2, visitedNodes: 1 }],
  ['a weighted list field: weight and selection per item', '{ search(term: "x") { id similar { id } } }', {}, { kind: 'ok', cost: 10 * (5 + 3), visitedNodes: 4 }],
  ['a mutation field costs 10', 'mutation { addBook(title: "x") { id } }', {}, { kind: 'ok', cost: 10, visitedNodes: 2 }],
  ['@cost on an argument adds its weight', 'mutation { rate(id: "1", stars: 5) { id } }', {}, { kind: 'ok', cost: 10 + 3, visitedNodes: 2 }],
  ['a fragment is priced per spread, walked once', 'query { a: book(id: "1") { ...F } b: book(id: "2") { ...F } } fragment F on Book { author { name } similar { id } }', {}, { kind: 'ok', cost: 2 * (1 + 2 + 3), visitedNodes: 8 }],
  ['a variable default is read (@skip(if: false))', 'query($s: Boolean = false) { book(id: "1") @skip(if: $s) { id } }', {}, { kind: 'ok', cost: 1, visitedNodes: 2 }],
  ['introspection is priced by the schema it returns', '{ __schema { types { name } } }', {}, { kind: 'ok', cost: 282, visitedNodes: 3 }],
  ['13 levels: refused for depth', nested(13), {}, { kind: 'tooComplex', reason: 'the query nests 13 levels deep; the limit is 12', cost: 265720, visitedNodes: 13 }],
  [
    'over maxCost: refused, with the cost',
    '{ books(first: 100) { edges { node { similar { similar { author { books(first: 100) { id } } } } } } } }',
    {},
    { kind: 'tooComplex', reason: 'the query would cost 93201 points; the limit is 1000 (lower "first" or select less)', cost: 93201, visitedNodes: 8 },
  ],
  ['a syntax error is left to Apollo', '{ book(id: "1") { id }', {}, { kind: 'unparsed' }],
];

describe('cost analysis: golden cases', () => {
  it.each(GOLDEN)('%s', (_what, document, variables, expected) => {
    expect(analyzeQuery(schema, document, undefined, variables, limits)).toEqual(expected);
  });

  it('leaves an unknown operation name to Apollo', () => {
    expect(analyzeQuery(schema, 'query A { __typename }', 'B', {}, limits)).toEqual({ kind: 'unparsed' });
  });

  it('refuses a document over maxTokens before walking it', () => {
    const analysis = analyzeQuery(schema, `{ ${'__typename '.repeat(50)}}`, undefined, {}, { ...limits, maxTokens: 20 });
    expect(analysis.kind).toBe('tooComplex');
  });

  it('refuses variables over their bounds before parsing', () => {
    const analysis = analyzeQuery(schema, 'query($t: String!) { search(term: $t) { id } }', undefined, { t: 'x'.repeat(DEFAULT_QUERY_LIMITS.variables.maxStringLength + 1) }, limits);
    expect(analysis.kind).toBe('tooComplex');
  });

  it('is linear in a chain of fragments that each spread the next twice', () => {
    const depth = 30;
    const fragments = Array.from({ length: depth }, (_, i) => `fragment F${i} on Book { ${i + 1 < depth ? `a: similar { ...F${i + 1} } b: similar { ...F${i + 1} }` : 'id'} }`).join(' ');
    const analysis = analyzeQuery(schema, `{ book(id: "1") { ...F0 } } ${fragments}`, undefined, {}, { ...limits, maxDepth: 100 });
    expect(analysis.kind).toBe('tooComplex');
    if (analysis.kind !== 'tooComplex') return;
    // Visits grow with the document (about 3 per fragment), never with 2^depth.
    expect(analysis.visitedNodes).toBeLessThan(depth * 4);
  });
});
