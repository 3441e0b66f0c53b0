import { ApolloServer } from '@apollo/server';
import fc from 'fast-check';
import { buildSchema, parse } from 'graphql';
import type { OperationDefinitionNode } from 'graphql';
import { actualQueryCost, analyzeQuery, costPlugin, DEFAULT_QUERY_LIMITS } from '@onceql/ratelimit';
import type { Admission, QueryAnalysis } from '@onceql/ratelimit';

/**
 * What the analysis and the actual count remember per parsed document must never change an answer:
 * a repeated document, with other variables, another operation, other caps or another schema, is
 * analysed and counted exactly as a first one.
 */
const SDL = `
  directive @cost(weight: String!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
  directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION

  type Query {
    book(id: ID!): Book
    books(first: Int = 10, last: Int): BookConnection! @listSize(assumedSize: 50, slicingArguments: ["first", "last"], sizedFields: ["edges"], requireOneSlicingArgument: false)
    authors: [Author!]!
    tags(first: Int): [String!]! @listSize(assumedSize: 32, slicingArguments: ["first"], requireOneSlicingArgument: false)
  }
  type BookConnection { edges: [BookEdge!]!, total: Int! }
  type BookEdge { node: Book! }
  type Book { id: ID!, title: String!, author: Author!, similar(first: Int): [Book!]! @listSize(assumedSize: 3, slicingArguments: ["first"], requireOneSlicingArgument: false) }
  type Author @cost(weight: "2") { name: String!, books(first: Int): [Book!]! @listSize(slicingArguments: ["first"]) }
`;
const schema = buildSchema(SDL);
const limits = { ...DEFAULT_QUERY_LIMITS, maxCost: 1000 };

/** The same text with trailing spaces: a document of its own, analysed for the first time. */
let fresh = 0;
const firstTime = (query: string): string => `${query}${' '.repeat((fresh += 1))}`;

describe('the analysis remembered per document', () => {
  const page = 'query($n: Int) { books(first: $n) { edges { node { id author { name } } } } }';

  it('reads a slicing argument given by a variable on every request', () => {
    const costs = [4, 50, 4, 0, 2.5].map((n) => analyzeQuery(schema, page, undefined, { n }, limits));
    expect(costs.map((analysis) => (analysis.kind === 'ok' ? analysis.cost : analysis.kind))).toEqual([1 + 4 * 4, 1 + 50 * 4, 1 + 4 * 4, 1, 1 + 3 * 4]);
    // A missing variable counts as the assumed size, the operation's default as its value.
    expect(analyzeQuery(schema, page, undefined, {}, limits)).toEqual(analyzeQuery(schema, firstTime(page), undefined, {}, limits));
    expect(analyzeQuery(schema, page, undefined, {}, limits)).toMatchObject({ kind: 'ok', cost: 1 + 50 * 4 });
    const withDefault = 'query($n: Int = 7) { books(first: $n) { edges { node { id } } } }';
    expect([analyzeQuery(schema, withDefault, undefined, {}, limits), analyzeQuery(schema, withDefault, undefined, { n: 3 }, limits)]).toEqual([
      { kind: 'ok', cost: 1 + 7 * 2, visitedNodes: 4 },
      { kind: 'ok', cost: 1 + 3 * 2, visitedNodes: 4 },
    ]);
  });

  it('answers each operation of a document with its own variables', () => {
    const document = 'query A { books(first: 2) { edges { node { id } } } } query B($n: Int) { tags(first: $n) }';
    for (let round = 0; round < 2; round += 1) {
      expect(analyzeQuery(schema, document, 'A', { n: 1000 }, limits)).toMatchObject({ kind: 'ok', cost: 1 + 2 * 2 });
      expect(analyzeQuery(schema, document, 'B', { n: 33 }, limits)).toMatchObject({ kind: 'ok', cost: 3 });
      expect(analyzeQuery(schema, document, 'B', { n: 16_000 }, limits)).toMatchObject({ kind: 'ok', cost: 1000 });
      expect(analyzeQuery(schema, document, 'B', { n: 16_001 }, limits)).toMatchObject({ kind: 'tooComplex', cost: 1001 });
      expect(analyzeQuery(schema, document, undefined, {}, limits)).toEqual({ kind: 'unparsed' });
      expect(analyzeQuery(schema, document, 'C', {}, limits)).toEqual({ kind: 'unparsed' });
    }
  });

  it('applies the caps of each call, and reports the cost of the operation refused for its shape with its variables', () => {
    const deep = 'query($n: Int) { book(id: "1") { similar(first: $n) { similar { similar { id } } } } }';
    const shallow = { ...limits, maxDepth: 3 };
    for (let round = 0; round < 2; round += 1) {
      expect(analyzeQuery(schema, deep, undefined, { n: 2 }, limits)).toMatchObject({ kind: 'ok', cost: 1 + 2 * (1 + 3 * (1 + 3)) });
      expect(analyzeQuery(schema, deep, undefined, { n: 5 }, shallow)).toEqual({ kind: 'tooComplex', reason: 'the query nests 5 levels deep; the limit is 3', cost: 1 + 5 * (1 + 3 * (1 + 3)), visitedNodes: 5 });
    }
    const twice = '{ book(id: "1") { id } ... on Query { book(id: "1") { title } } }';
    for (let round = 0; round < 2; round += 1) {
      expect(analyzeQuery(schema, twice, undefined, {}, { ...limits, maxSameResponseKey: 1 })).toMatchObject({ kind: 'tooComplex', reason: expect.stringContaining('"book" more than 1 times') });
      expect(analyzeQuery(schema, twice, undefined, {}, limits)).toMatchObject({ kind: 'ok', cost: 2 });
      expect(analyzeQuery(schema, twice, undefined, {}, { ...limits, maxCost: 1 })).toMatchObject({ kind: 'tooComplex', cost: 2 });
      expect(analyzeQuery(schema, twice, undefined, {}, { ...limits, maxFields: 3 })).toMatchObject({ kind: 'tooComplex', reason: expect.stringContaining('4 fields') });
    }
  });

  it('prices a document by the schema it is analysed against', () => {
    const other = buildSchema(SDL.replace('type Author @cost(weight: "2")', 'type Author @cost(weight: "5")'));
    const query = '{ authors { name } }';
    for (let round = 0; round < 2; round += 1) {
      expect(analyzeQuery(schema, query, undefined, {}, { ...limits, maxCost: 10_000 })).toMatchObject({ cost: 200 });
      expect(analyzeQuery(other, query, undefined, {}, { ...limits, maxCost: 10_000 })).toMatchObject({ cost: 500 });
    }
  });

  it('works out a variable under a chain of fragments once per request, not once per path (2^29 paths)', () => {
    const depth = 30;
    const fragments = Array.from({ length: depth }, (_, i) => `fragment F${i} on Book { ${i + 1 < depth ? `a: similar { ...F${i + 1} } b: similar { ...F${i + 1} }` : 'author { books(first: $n) { id } }'} }`).join(' ');
    const query = `query($n: Int) { book(id: "1") { ...F0 } } ${fragments}`;
    const unbounded = { ...limits, maxDepth: 1000, maxFields: Number.POSITIVE_INFINITY, maxSameResponseKey: 1000, maxCost: Number.POSITIVE_INFINITY };
    for (const n of [1, 7, 1]) {
      const literal = query.replace('first: $n', `first: ${n}`);
      expect(analyzeQuery(schema, query, undefined, { n }, unbounded)).toEqual(analyzeQuery(schema, firstTime(literal), undefined, {}, unbounded));
    }
  });

  it('gives a document with its slicing arguments in variables the analysis of the same document written with literals (random documents, repeated)', () => {
    const FIELDS = ['book(id: "1")', 'books', 'books(first: #)', 'books(last: #)', 'books(first: 2, last: #)', 'edges', 'node', 'similar', 'similar(first: #)', 'author', 'authors', 'tags(first: #)', 'tags', 'id', 'title', 'total', 'name', 'books(first: #)'];
    const { selectionSet } = fc.letrec((tie) => ({
      selectionSet: fc.array(tie('selection'), { minLength: 1, maxLength: 4 }).map((items) => `{ ${(items as string[]).join(' ')} }`),
      selection: fc.oneof(
        { depthSize: 'small', maxDepth: 4 },
        fc.constantFrom('id', 'name', '__typename', 'tags'),
        fc.tuple(fc.option(fc.constantFrom('a', 'b')), fc.constantFrom(...FIELDS), tie('selectionSet')).map(([alias, name, set]) => `${alias === null ? '' : `${alias}: `}${name} ${set as string}`),
        fc.nat(3).map((i) => `...F${i}`),
      ),
    }));
    const documents = fc
      .tuple(selectionSet, fc.array(fc.tuple(fc.constantFrom('Book', 'Author', 'BookConnection', 'Query'), selectionSet), { maxLength: 4 }))
      .map(([set, fragments]) => `query($n: Int) ${set} ${fragments.map(([type, body], i) => `fragment F${i} on ${type} ${body}`).join(' ')}`);
    const loose = { ...limits, maxCost: 5000, maxDepth: 6 };
    fc.assert(
      fc.property(documents, fc.array(fc.integer({ min: -2, max: 500 }), { minLength: 1, maxLength: 3 }), (template, values) => {
        const withVariables = template.replaceAll('#', '$n');
        for (const n of values) {
          const literal = firstTime(template.replaceAll('#', String(n)));
          const expected: QueryAnalysis = analyzeQuery(schema, literal, undefined, { n }, loose);
          expect(analyzeQuery(schema, withVariables, undefined, { n }, loose)).toEqual(expected);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('the actual cost remembered per operation', () => {
  const query = 'query($n: Int) { books(first: $n) { edges { node { id similar { id author { name } } } } total } tags }';
  const book = (similar: number) => ({ id: 'b', similar: Array.from({ length: similar }, () => ({ id: 's', author: { name: 'a' } })) });
  const answer = (books: number, similar: number) => ({ books: { edges: Array.from({ length: books }, () => ({ node: book(similar) })), total: books }, tags: ['x', 'y'] });

  it('counts each answer of a repeated operation as a first one', () => {
    const document = parse(query);
    const operation = document.definitions[0] as OperationDefinitionNode;
    for (const [books, similar] of [[2, 1], [20, 3], [0, 0], [5, 0], [2, 1]] as const) {
      const once = parse(query);
      expect(actualQueryCost(schema, document, operation, {}, answer(books, similar))).toBe(actualQueryCost(schema, once, once.definitions[0] as OperationDefinitionNode, {}, answer(books, similar)));
    }
    // books 1 + 2 edges × (edge 1 + node 1 + 1 similar × (book 1 + author 2)) + 2 tags at 1/16, rounded up.
    expect(actualQueryCost(schema, document, operation, {}, answer(2, 1))).toBe(1 + 2 * (1 + 1 + 1 * (1 + 2)) + 1);
    // A null object still counts its weight (its resolver ran), a null list nothing.
    expect(actualQueryCost(schema, document, operation, {}, { books: null, tags: null })).toBe(1);
  });

  it('reads the variables of @skip/@include on every answer', () => {
    const skipping = parse('query($s: Boolean!) { authors @skip(if: $s) { name } book(id: "1") { id } }');
    const operation = skipping.definitions[0] as OperationDefinitionNode;
    const data = { authors: [{ name: 'a' }, { name: 'b' }], book: { id: '1' } };
    expect([false, true, false].map((s) => actualQueryCost(schema, skipping, operation, { s }, data))).toEqual([2 * 2 + 1, 1, 2 * 2 + 1]);
  });
});

describe('costPlugin and the variables', () => {
  const admission: Admission = { ratePerSecond: 10, remaining: 9, resetMs: 100, requestedQueryCost: 1000, maximumAvailable: 1000, currentlyAvailable: 0, restoreRate: 10 };
  const rootValue = { authors: [{ name: 'a' }, { name: 'b' }], book: { id: '1' } };

  async function actualOf(query: string, variables: Record<string, unknown>, coercedVariablesOf?: () => Record<string, unknown> | undefined): Promise<{ actual: unknown; asked: number }> {
    let asked = 0;
    const server = new ApolloServer<{ admission: Admission }>({
      schema,
      rootValue,
      plugins: [
        costPlugin<{ admission: Admission }>({
          admissionOf: (context) => context.admission,
          ...(coercedVariablesOf === undefined
            ? {}
            : {
                coercedVariablesOf: () => {
                  asked += 1;
                  return coercedVariablesOf();
                },
              }),
        }),
      ],
    });
    await server.start();
    try {
      const response = await server.executeOperation({ query, variables }, { contextValue: { admission } });
      if (response.body.kind !== 'single') throw new Error('expected a single result');
      return { actual: (response.body.singleResult.extensions?.cost as { actualQueryCost: unknown }).actualQueryCost, asked };
    } finally {
      await server.stop();
    }
  }

  it('coerces the variables only for a document whose @skip/@include reads one, defaults applied', async () => {
    const skipping = 'query($s: Boolean = true) { authors @skip(if: $s) { name } book(id: "1") { id } }';
    expect(await actualOf(skipping, {})).toEqual({ actual: 1, asked: 0 });
    expect(await actualOf(skipping, { s: false })).toEqual({ actual: 2 * 2 + 1, asked: 0 });
  });

  it('takes the variables the app coerced already, and asks only when the count reads them', async () => {
    const skipping = 'query($s: Boolean = false) { authors @skip(if: $s) { name } book(id: "1") { id } }';
    // The app's coerced variables are what the count reads (here, unlike execution's: skip).
    expect(await actualOf(skipping, {}, () => ({ s: true }))).toEqual({ actual: 1, asked: 1 });
    // Undefined: the plugin coerces them itself.
    expect(await actualOf(skipping, {}, () => undefined)).toEqual({ actual: 2 * 2 + 1, asked: 1 });
    expect(await actualOf('query($id: ID!) { authors { name } book(id: $id) { id } }', { id: '1' }, () => ({ id: '1' }))).toEqual({ actual: 2 * 2 + 1, asked: 0 });
  });
});
