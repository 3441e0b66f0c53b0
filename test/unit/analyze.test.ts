import 'reflect-metadata';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema, getIntrospectionQuery, graphqlSync, Kind, parse, validate, visit } from 'graphql';
import type { DocumentNode, OperationDefinitionNode } from 'graphql';
import { validateNewApiKey } from '../../src/auth/store';
import { MAX_ALLOWLIST_ENTRIES } from '../../src/graphql/cost';
import { buildLedgerSchema } from '../../src/graphql/schema';
import { actualQueryCost, analyzeQuery, DEFAULT_QUERY_LIMITS, introspectionWeights } from '@onceql/ratelimit';
import type { QueryAnalysis, QueryLimits } from '@onceql/ratelimit';

const schema = buildLedgerSchema();
const limits: QueryLimits = { ...DEFAULT_QUERY_LIMITS, maxCost: 1_000_000 };

function analyze(query: string, variables: Record<string, unknown> = {}, options: Partial<QueryLimits> = {}, onSchema = schema): QueryAnalysis {
  return analyzeQuery(onSchema, query, undefined, variables, { ...limits, ...options });
}

function costOf(query: string, variables: Record<string, unknown> = {}, onSchema = schema): number {
  const analysis = analyze(query, variables, {}, onSchema);
  if (analysis.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(analysis)}`);
  return analysis.cost;
}

/** Selections, arguments and the like: the size of a document the walk is measured against. */
function astSize(query: string): number {
  let nodes = 0;
  visit(parse(query), { enter: () => void (nodes += 1) });
  return nodes;
}

const PAGE = '{ edges { node { id } } }';

describe('cost rules (DESIGN.md, read from the schema directives)', () => {
  it('prices leaves 0, objects 1, connections by first (else its default 20), mutations 10', () => {
    expect(costOf('{ __typename }')).toBe(0);
    expect(costOf('{ viewer { tenant { id name } } }')).toBe(2);
    expect(costOf('{ accounts { edges { node { id } } pageInfo { hasNextPage } } }')).toBe(1 + 20 * 2 + 1);
    expect(costOf('{ accounts(first: 2) { edges { node { transfers(first: 3) { edges { node { id } } } } } } }')).toBe(1 + 2 * (1 + 1 + (1 + 3 * 2)));
    expect(costOf('mutation { createAccount(input: {name: "x", currency: "EUR"}) { id name } }')).toBe(10);
    expect(costOf('mutation { createTransfer(input: {fromAccountId: "a", toAccountId: "b", amount: "1", currency: "EUR"}) { fromAccount { transfers(first: 5) { edges { node { id } } } } } }')).toBe(
      10 + 1 + (1 + 5 * 2),
    );
    // scopes: 3 items at 1/16 each, rounded up to 1.
    expect(costOf('{ apiKeys { id scopes } }')).toBe(200);
  });

  it('reads @cost on fields, types and arguments and @listSize from any schema that declares them', () => {
    const custom = buildSchema(`
      directive @cost(weight: String!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
      directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
      type Query {
        expensive: String @cost(weight: "7")
        heavy: Heavy
        search(term: String @cost(weight: "3")): Item
        items(first: Int, last: Int): [Item] @listSize(slicingArguments: ["first", "last"])
        page(limit: Int = 4): Page @listSize(slicingArguments: ["limit"], sizedFields: ["rows"], requireOneSlicingArgument: false)
        plain: [Item] @listSize(assumedSize: 6)
      }
      type Heavy @cost(weight: "5") { id: ID }
      type Item { id: ID }
      type Page { rows: [Item] total: Int }
    `);
    expect(costOf('{ expensive }', {}, custom)).toBe(7);
    expect(costOf('{ heavy { id } }', {}, custom)).toBe(5);
    expect(costOf('{ search(term: "x") { id } }', {}, custom)).toBe(1 + 3);
    expect(costOf('{ search { id } }', {}, custom)).toBe(1);
    expect(costOf('{ items(first: 8) { id } }', {}, custom)).toBe(8);
    expect(costOf('{ page { rows { id } total } }', {}, custom)).toBe(1 + 4);
    expect(costOf('{ page(limit: 9) { rows { id } } }', {}, custom)).toBe(1 + 9);
    expect(costOf('{ plain { id } }', {}, custom)).toBe(6);
    // requireOneSlicingArgument (the default): exactly one of first / last.
    expect(analyze('{ items { id } }', {}, {}, custom)).toMatchObject({ kind: 'tooComplex', reason: expect.stringContaining('exactly one of the arguments first, last') });
    expect(analyze('{ items(first: 1, last: 2) { id } }', {}, {}, custom)).toMatchObject({ kind: 'tooComplex' });
  });

  it('prices the same from the committed schema.graphql as from the code (one source of truth)', () => {
    const committed = buildSchema(readFileSync(path.resolve(__dirname, '../../schema.graphql'), 'utf8'));
    for (const query of ['{ accounts(first: 7) { edges { node { transfers { edges { node { id } } } } } } }', 'mutation { revokeApiKey(id: "x") { id } }', '{ apiKeys { id } }']) {
      expect(costOf(query, {}, committed)).toBe(costOf(query));
    }
  });
});

describe("the README's example", () => {
  const query = `query Recent($n: Int = 10) {
    viewer { tenant { name } }
    accounts(first: 3) { ...Page }
  }
  fragment Page on AccountConnection {
    edges { node { name balance transfers(first: $n) { edges { node { amount } } } } }
    pageInfo { hasNextPage }
  }`;

  it('is priced 73 and, with two accounts holding 4 and 0 transfers, uses 18', () => {
    expect(costOf(query)).toBe(73);
    const document = parse(query);
    const operation = document.definitions[0] as OperationDefinitionNode;
    const transfers = (count: number) => ({ edges: Array.from({ length: count }, () => ({ node: { amount: '1' } })) });
    const data = {
      viewer: { tenant: { name: 't' } },
      accounts: { edges: [{ node: { name: 'a', balance: '0', transfers: transfers(4) } }, { node: { name: 'b', balance: '0', transfers: transfers(0) } }], pageInfo: { hasNextPage: false } },
    };
    expect(actualQueryCost(schema, document, operation, {}, data)).toBe(18);
  });
});

describe('every way around the price is priced', () => {
  const direct = costOf(`{ accounts(first: 100) ${PAGE} }`);

  it('connections inside fragments, inline fragments and spreads inside the connection', () => {
    expect(direct).toBe(201);
    expect(costOf(`{ ...Q } fragment Q on Query { accounts(first: 100) ${PAGE} }`)).toBe(direct);
    expect(costOf(`{ ... on Query { accounts(first: 100) ${PAGE} } }`)).toBe(direct);
    expect(costOf(`{ ... { accounts(first: 100) ${PAGE} } }`)).toBe(direct);
    expect(costOf('{ accounts(first: 100) { ...C } } fragment C on AccountConnection { edges { node { id } } }')).toBe(direct);
    expect(costOf('{ accounts(first: 100) { ... on AccountConnection { edges { node { id } } } } }')).toBe(direct);
    expect(costOf('{ accounts(first: 100) { edges { ...E } } } fragment E on AccountEdge { node { id } }')).toBe(direct);
    // The same fragment read outside a connection is priced without the multiplier.
    expect(costOf('{ accounts(first: 100) { ...C } transfers(first: 2) { ...T } } fragment C on AccountConnection { edges { node { id } } } fragment T on TransferConnection { edges { node { id } } }')).toBe(201 + 5);
  });

  it('variables and their defaults, and values it cannot read count as the largest page', () => {
    expect(costOf(`query($n: Int = 100) { accounts(first: $n) ${PAGE} }`)).toBe(direct);
    expect(costOf(`query($n: Int = 1) { accounts(first: $n) ${PAGE} }`, { n: 100 })).toBe(direct);
    expect(costOf(`query($n: Int) { accounts(first: $n) ${PAGE} }`)).toBe(direct);
    expect(costOf(`query($n: Int) { accounts(first: $n) ${PAGE} }`, { n: null })).toBe(direct);
    expect(costOf(`query($n: Int) { accounts(first: $n) ${PAGE} }`, { n: '5' })).toBe(direct);
    expect(costOf(`query($n: Int) { accounts(first: $n) ${PAGE} }`, { n: 3 })).toBe(7);
    expect(analyze(`query($n: Int) { accounts(first: $n) ${PAGE} }`, { n: 1e9 }, { maxCost: 1000 })).toMatchObject({ kind: 'tooComplex' });
  });

  it('mutations reached through inline fragments and fragments on the Mutation root', () => {
    const create = 'createAccount(input: {name: "x", currency: "EUR"}) { id }';
    expect(costOf(`mutation { ... on Mutation { ${create} } }`)).toBe(10);
    expect(costOf(`mutation { ...M } fragment M on Mutation { ${create} }`)).toBe(10);
    expect(costOf(`mutation { a: ${create} b: ${create} ... on Mutation { c: ${create} } }`)).toBe(30);
  });

  it('aliases repeat the price, directives do not hide it', () => {
    expect(costOf(`{ a: accounts(first: 100) ${PAGE} b: accounts(first: 100) ${PAGE} }`)).toBe(2 * direct);
    expect(costOf(`query($no: Boolean = false) { accounts(first: 100) @include(if: $no) ${PAGE} }`)).toBe(direct);
    expect(costOf(`{ ...Q @skip(if: true) } fragment Q on Query { accounts(first: 100) ${PAGE} }`)).toBe(direct);
  });

  it('introspection costs the size of the schema per root field, each alias inside again, and its nesting is capped', () => {
    const weights = introspectionWeights(schema);
    // graphql-js's full introspection of onceql's schema returns about 480 objects; its largest type about 60.
    expect(weights.__schema).toBeGreaterThan(400);
    expect(weights.__type).toBeGreaterThan(20);
    expect(weights.__type).toBeLessThan(weights.__schema);
    expect(costOf('{ __schema { types { name } } }')).toBe(weights.__schema);
    expect(costOf('{ __type(name: "Account") { name fields { name } } }')).toBe(weights.__type);
    expect(costOf('{ a: __type(name: "Account") { name } b: __type(name: "Transfer") { name } }')).toBe(2 * weights.__type);
    expect(costOf('{ __type(name: "Account") { a: fields { name } b: fields { name } } }')).toBe(3 * weights.__type);
    expect(costOf('{ __typename }')).toBe(0);
    // What every GraphQL IDE asks, priced at what it returns.
    const ide = analyze(getIntrospectionQuery());
    expect(ide).toMatchObject({ kind: 'ok', cost: weights.__schema });
    const answer = graphqlSync({ schema, source: getIntrospectionQuery() });
    const operation = parse(getIntrospectionQuery()).definitions[0] as OperationDefinitionNode;
    expect(actualQueryCost(schema, parse(getIntrospectionQuery()), operation, {}, answer.data)).toBeLessThanOrEqual(weights.__schema);
    // Types within types within types: refused, whatever the weight.
    expect(analyze('{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }')).toMatchObject({
      kind: 'tooComplex',
      reason: expect.stringContaining('introspection nests'),
    });
  });
});

describe('linear analysis', () => {
  /** F0 spreads F1 twice, F1 spreads F2 twice, ...: 2^depth spreads when expanded. */
  function fanOut(depth: number, leaf = 'accounts(first: 1) { edges { node { id } } }'): string {
    const fragments = Array.from({ length: depth }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`);
    return `{ ...F0 } ${fragments.join(' ')} fragment F${depth} on Query { ${leaf} }`;
  }

  it('visits a fragment fan-out of depth 25 once per node and refuses it', () => {
    const query = fanOut(25);
    const analysis = analyze(query);
    expect(analysis).toMatchObject({ kind: 'tooComplex' });
    if (analysis.kind === 'unparsed') throw new Error('unreachable');
    expect(analysis.visitedNodes).toBeLessThanOrEqual(astSize(query));
  });

  it('stays linear without the spread cap: refused by what the fan-out expands to', () => {
    for (const [leaf, reason] of [
      ['accounts(first: 1) { edges { node { id } } }', 'fields'],
      ['__typename', 'fields'],
    ] as const) {
      const query = fanOut(25, leaf);
      const analysis = analyze(query, {}, { maxSpreads: Number.POSITIVE_INFINITY, maxCost: 1000 });
      expect(analysis).toMatchObject({ kind: 'tooComplex', reason: expect.stringContaining(reason) });
      if (analysis.kind === 'unparsed') throw new Error('unreachable');
      expect(analysis.visitedNodes).toBeLessThanOrEqual(astSize(query));
    }
  });

  it('prices a fan-out the spread cap lets through by what it expands to, linearly', () => {
    // 2^3 copies of one field at one path: within maxSameResponseKey (8); 2^4 is not.
    expect(analyze(fanOut(4))).toMatchObject({ kind: 'tooComplex', reason: expect.stringContaining('"accounts" more than 8 times') });
    const query = fanOut(3);
    const analysis = analyze(query);
    expect(analysis).toMatchObject({ kind: 'ok', cost: 2 ** 3 * 3 });
    if (analysis.kind === 'unparsed') throw new Error('unreachable');
    expect(analysis.visitedNodes).toBeLessThanOrEqual(astSize(query));
  });

  it('refuses a fragment that spreads itself, and caps fragment definitions and spreads', () => {
    expect(analyze('{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }')).toMatchObject({ kind: 'tooComplex', reason: expect.stringContaining('spreads itself') });
    const many = `{ ...F0 } ${Array.from({ length: 60 }, (_, i) => `fragment F${i} on Query { __typename }`).join(' ')}`;
    expect(analyze(many)).toMatchObject({ kind: 'tooComplex', reason: expect.stringContaining('60 fragments') });
    const spreads = `{ ${'...F '.repeat(101)} } fragment F on Query { __typename }`;
    expect(analyze(spreads, {}, { maxSelections: 1000 })).toMatchObject({ kind: 'tooComplex', reason: expect.stringContaining('spreads') });
  });

  it('still stops parsing at maxTokens', () => {
    expect(analyze(`{ ${'a: __typename '.repeat(2000)} }`)).toMatchObject({ kind: 'tooComplex', reason: expect.stringContaining('tokens') });
  });
});

describe('variables are bounded before anything reads them', () => {
  const query = 'mutation($input: CreateAccountInput!) { createAccount(input: $input) { id } }';

  it('refuses 20,000 unknown input fields without echoing them', () => {
    const input = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`field${i}`, 'x']));
    const analysis = analyze(query, { input });
    expect(analysis).toMatchObject({ kind: 'tooComplex', reason: 'a variables object has 20000 keys; the limit is 50' });
  });

  it('refuses too many values, too deep, too long strings; accepts what onceql inputs need', () => {
    expect(analyze(query, { list: Array.from({ length: 1001 }, () => 1) })).toMatchObject({ kind: 'tooComplex', reason: expect.stringContaining('1000 values') });
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = { d: deep };
    expect(analyze(query, { deep })).toMatchObject({ kind: 'tooComplex', reason: expect.stringContaining('deeper') });
    expect(analyze(query, { input: { name: 'x'.repeat(2001) } })).toMatchObject({ kind: 'tooComplex', reason: expect.stringContaining('longer than 2000') });
    expect(analyze(query, { a: 'x'.repeat(2000), b: 'x'.repeat(2000), c: 'x'.repeat(2000), d: 'x'.repeat(2000), e: 'x'.repeat(2000), f: 'x'.repeat(2000), g: 'x'.repeat(2000), h: 'x'.repeat(2000), i: 'x'.repeat(2000) })).toMatchObject({
      kind: 'tooComplex',
      reason: expect.stringContaining('16384 characters'),
    });
    const allowlist = Array.from({ length: 100 }, (_, i) => `2001:db8:${i.toString(16)}::/48`);
    expect(analyze('mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }', { input: { name: 'n'.repeat(200), scopes: ['READ'], ipAllowlist: allowlist } })).toMatchObject({
      kind: 'ok',
    });
  });
});

/**
 * The work graphql-js's validate() does on a document, counted: reads of a field node's `name`.
 * Every rule reads it a few times per field; OverlappingFieldsCanBeMergedRule reads it twice per
 * pair of fields it compares, so a document whose pairs grow quadratically shows here.
 */
function validationReads(query: string): { reads: number; fieldNodes: number; errors: number } {
  let reads = 0;
  let fieldNodes = 0;
  const counted = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(counted);
    if (value === null || typeof value !== 'object') return value;
    const copy: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) copy[key] = counted(inner);
    if (copy.kind !== Kind.FIELD) return copy;
    fieldNodes += 1;
    return new Proxy(copy, { get: (target, key) => (key === 'name' && (reads += 1), target[key as string]) });
  };
  const document = counted(parse(query, { noLocation: true, maxTokens: 100_000 })) as DocumentNode;
  const errors = validate(schema, document).length;
  return { reads, fieldNodes, errors };
}

const TENANT = '{ id name createdAt __typename }';
const API_KEY = '{ id name prefix scopes ipAllowlist createdAt lastUsedAt revokedAt __typename }';
const ACCOUNT = '{ id name currency balance allowNegativeBalance createdAt __typename }';
/** Each selection eight times over: at every response path one key is selected 8 times (the cap). */
const times8 = (selection: string): string => `${selection} `.repeat(8);
const WORST_ACCEPTED: Record<string, string> = {
  'every key of every path 8 times, ~800 fields': `{ ${times8('__typename')} ${times8(`viewer { apiKey ${API_KEY} tenant ${TENANT} __typename }`)} ${times8(`apiKeys ${API_KEY}`)}
    ${times8(`accounts(first: 1) { edges { node ${ACCOUNT} cursor __typename } pageInfo { hasNextPage endCursor __typename } __typename }`)}
    ${times8(`transfers(first: 1) { edges { node { id amount currency reference createdAt __typename fromAccount ${ACCOUNT} toAccount ${ACCOUNT} } cursor } __typename }`)} }`,
  'fragments spread into sets of 8': `{ ${times8('viewer { ...V ...K __typename }')} } fragment V on Viewer { tenant { ...T } } fragment K on Viewer { apiKey ${API_KEY} } fragment T on Tenant ${TENANT}`,
  '100 selections in one set, 8 of each key': `{ viewer { apiKey { ${times8(API_KEY.slice(1, -1))} ${Array.from({ length: 14 }, (_, i) => `a${i}: id b${i}: name`).join(' ')} } } }`,
  '50 operations of 16 fields': Array.from({ length: 50 }, (_, i) => `query Q${i} { ${times8('__typename')} ${times8('a: __typename')} }`).join(' '),
};

describe("validation's work is bounded by the caps (OverlappingFieldsCanBeMergedRule is quadratic)", () => {
  const refused = (query: string, operationName?: string): QueryAnalysis => analyzeQuery(schema, query, operationName, {}, { ...DEFAULT_QUERY_LIMITS, maxCost: 1_000_000 });

  it("refuses the red team's documents, and the same work spread over fragments, nesting and unused operations", () => {
    const attacks: [string, string | undefined, string][] = [
      [`{ viewer { tenant { ${'id '.repeat(2980)} } } } #x`, undefined, 'selections'],
      [`query A { __typename } query B { viewer { ${'apiKey { id } '.repeat(735)} } }`, 'A', 'selections'],
      [`query A { __typename } query B { viewer { ${'apiKey { id } '.repeat(9)} } }`, 'A', '"viewer.apiKey" more than 8 times'],
      [`{ viewer { tenant { ${Array.from({ length: 10 }, (_, i) => `...F${i}`).join(' ')} } } } ${Array.from({ length: 10 }, (_, i) => `fragment F${i} on Tenant { id }`).join(' ')}`, undefined, 'selects "viewer.tenant.id" more than 8 times'],
      [`{ ${'viewer { tenant { id id id } } '.repeat(3)} }`, undefined, '"viewer.tenant.id" more than 8 times'],
      [`query A { __typename } fragment Unused on Tenant { ${'id '.repeat(9)} }`, 'A', '"id" more than 8 times'],
      [`query A { __typename } ${Array.from({ length: 12 }, (_, i) => `query Q${i} { ${times8(`apiKeys ${API_KEY}`)} }`).join(' ')}`, 'A', 'fields'],
      [`query A { __typename } query B { ${'viewer { '.repeat(13)}__typename${' }'.repeat(13)} }`, 'A', 'levels deep'],
      [Array.from({ length: 51 }, (_, i) => `query Q${i} { __typename }`).join(' '), 'Q0', '51 operations'],
    ];
    for (const [query, operationName, reason] of attacks) {
      expect(refused(query, operationName)).toMatchObject({ kind: 'tooComplex', reason: expect.stringContaining(reason) });
    }
  });

  it('accepts every operation onceql ships and both introspection queries IDEs send', () => {
    const dir = path.resolve(__dirname, '../operations');
    const documents = readdirSync(dir).map((file) => readFileSync(path.join(dir, file), 'utf8'));
    documents.push(readFileSync(path.resolve(__dirname, '../../examples/web/src/operations.graphql'), 'utf8'));
    documents.push(getIntrospectionQuery(), getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }));
    for (const document of documents) {
      const operations = parse(document).definitions.flatMap((definition) => (definition.kind === Kind.OPERATION_DEFINITION && definition.name ? [definition.name.value] : []));
      for (const name of operations.length > 0 ? operations : [undefined]) {
        expect([name, refused(document, name).kind]).toEqual([name, 'ok']);
      }
    }
  });

  it("keeps validate()'s reads per field small for the worst documents the caps accept; the refused ones read quadratically", () => {
    for (const [name, query] of Object.entries(WORST_ACCEPTED)) {
      expect([name, refused(query, name.endsWith('operations of 16 fields') ? 'Q0' : undefined)]).toEqual([name, expect.objectContaining({ kind: 'ok' })]);
      const { reads, fieldNodes, errors } = validationReads(query);
      expect([name, errors]).toEqual([name, 0]);
      expect(fieldNodes).toBeLessThanOrEqual(DEFAULT_QUERY_LIMITS.maxFields);
      // A handful of reads per field from the rules, plus the pairs the merge rule compares.
      expect(reads / fieldNodes).toBeLessThan(40);
    }
    // The red team's document with 300 ids in place of 2,980 (refused): reads grow with the square.
    const attack = validationReads(`{ viewer { tenant { ${'id '.repeat(300)} } } }`);
    expect(attack.reads / attack.fieldNodes).toBeGreaterThan(200);
  });
});

describe('second red-team pass', () => {
  const QUERY_COST_MAX = 1000;
  const operationsOf = (text: string): string[] => parse(text).definitions.flatMap((definition) => (definition.kind === Kind.OPERATION_DEFINITION && definition.name ? [definition.name.value] : []));

  it('prices lists of scalars by their size, aliases included, so 30 aliased allowlists are refused', () => {
    // Each allowlist: 100 ranges at 1/16 each, 7 points; each key 1 more.
    expect(costOf('{ apiKeys { ipAllowlist } }')).toBe(100 * (1 + 7));
    const aliased = `{ apiKeys { ${Array.from({ length: 30 }, (_, i) => `a${i}: ipAllowlist`).join(' ')} } }`;
    expect(costOf(aliased)).toBe(100 * (1 + 30 * 7));
    expect(analyzeQuery(schema, aliased, undefined, {}, { ...DEFAULT_QUERY_LIMITS, maxCost: QUERY_COST_MAX })).toMatchObject({ kind: 'tooComplex' });
    // Through a fragment and a mutation's result too.
    expect(costOf('query { apiKeys { ...K } } fragment K on ApiKey { x: ipAllowlist y: ipAllowlist }')).toBe(100 * (1 + 2 * 7));
    expect(costOf('mutation { createApiKey(input: {name: "k", scopes: [READ]}) { apiKey { scopes ipAllowlist } } }')).toBe(10 + 1 + 1 + 7);
  });

  it("declares the allowlist's assumed size as the most entries the validator accepts", () => {
    const ranges = (count: number): string[] => Array.from({ length: count }, (_, i) => `2001:db8:${i.toString(16)}::/48`);
    expect(validateNewApiKey({ name: 'k', scopes: ['read'], ipAllowlist: ranges(MAX_ALLOWLIST_ENTRIES) }).ipAllowlist).toHaveLength(MAX_ALLOWLIST_ENTRIES);
    expect(() => validateNewApiKey({ name: 'k', scopes: ['read'], ipAllowlist: ranges(MAX_ALLOWLIST_ENTRIES + 1) })).toThrow();
  });

  it('counts lists of scalars the same way after execution, never above the estimate', () => {
    const query = '{ apiKeys { a: ipAllowlist b: ipAllowlist scopes } }';
    const document = parse(query);
    const operation = document.definitions[0] as OperationDefinitionNode;
    const full = Array.from({ length: 100 }, (_, i) => `10.0.${i}.0/24`);
    const data = { apiKeys: [{ a: full, b: full, scopes: ['READ', 'WRITE', 'ADMIN'] }, { a: ['10.0.0.1'], b: ['10.0.0.1'], scopes: ['READ'] }, { a: [], b: [], scopes: ['READ'] }] };
    // Key 1: 1 + 7 + 7 + 1; key 2: 1 + 1 + 1 + 1; key 3: 1 + 0 + 0 + 1.
    expect(actualQueryCost(schema, document, operation, {}, data)).toBe(16 + 4 + 2);
    expect(actualQueryCost(schema, document, operation, {}, { apiKeys: Array.from({ length: 100 }, () => data.apiKeys[0]) })).toBe(costOf(query));
  });

  it('refuses a long query before parsing it, and long string literals, whatever the tokens', () => {
    const long = `{ ${'account(id: "x") { id } '.repeat(10)} } #${'x'.repeat(DEFAULT_QUERY_LIMITS.maxQueryLength)}`;
    expect(analyze(long)).toEqual({ kind: 'tooComplex', reason: `the query is longer than ${DEFAULT_QUERY_LIMITS.maxQueryLength} characters`, cost: null, visitedNodes: 0 });
    // The red team's document: 8 strings of 120 KB, ~960 KB in 40 tokens.
    const strings = `{ ${Array.from({ length: 8 }, (_, i) => `a${i}: account(id: "${String(i).repeat(120_000)}") { id }`).join(' ')} }`;
    expect(analyze(strings)).toMatchObject({ kind: 'tooComplex', reason: expect.stringContaining('longer than') });
    // Within the length cap, each literal is capped too: plain and block strings, in arguments,
    // input objects, lists and directive arguments.
    const at = DEFAULT_QUERY_LIMITS.maxStringLiteralLength;
    for (const literal of [`"${'x'.repeat(at + 1)}"`, `"""${'x'.repeat(at + 1)}"""`]) {
      for (const query of [`{ account(id: ${literal}) { id } }`, `mutation { createAccount(input: {name: ${literal}, currency: "EUR"}) { id } }`, `{ __type(name: "x") { name @skip(if: false) } viewer { tenant { id } } a: account(id: "y") { id } } query Q($s: String = ${literal}) { __typename }`]) {
        expect(analyzeQuery(schema, query, query.includes('query Q') ? 'Q' : undefined, {}, limits)).toMatchObject({ kind: 'tooComplex', reason: `a string in the query is longer than ${at} characters` });
      }
    }
    expect(analyze(`{ account(id: "${'x'.repeat(at)}") { id } }`).kind).toBe('ok');
    expect(analyze(`{ account(id: "x") { id } } # ${'x'.repeat(30_000)}`).kind).toBe('ok');
  });

  it('counts directives on variable definitions', () => {
    const directives = (count: number): string => '@deprecated '.repeat(count);
    const query = (count: number): string => `query($a: Int ${directives(count)}) { __typename }`;
    expect(analyze(query(DEFAULT_QUERY_LIMITS.maxDirectives)).kind).toBe('ok');
    expect(analyze(query(DEFAULT_QUERY_LIMITS.maxDirectives + 1))).toMatchObject({ kind: 'tooComplex', reason: expect.stringContaining('directives') });
    expect(analyze(`query($a: Int @x, $b: Int ${directives(DEFAULT_QUERY_LIMITS.maxDirectives - 1)}) { __typename @skip(if: false) }`)).toMatchObject({ kind: 'tooComplex' });
  });

  it("keeps every operation onceql ships under QUERY_COST_MAX, the api key listing with its allowlists included", () => {
    const dir = path.resolve(__dirname, '../operations');
    for (const file of readdirSync(dir)) {
      const text = readFileSync(path.join(dir, file), 'utf8');
      for (const name of operationsOf(text)) {
        const analysis = analyzeQuery(schema, text, name, {}, { ...DEFAULT_QUERY_LIMITS, maxCost: QUERY_COST_MAX });
        expect([name, analysis.kind]).toEqual([name, 'ok']);
      }
    }
  });
});
