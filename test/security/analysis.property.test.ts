import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { parse, visit } from 'graphql';
import { buildLedgerSchema } from '../../src/graphql/schema';
import { LedgerStore } from '../../src/ledger/store';
import { analyzeQuery, DEFAULT_QUERY_LIMITS } from '@onceql/ratelimit';
import { gql, startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';

/**
 * Properties of the cost analysis (issue 10):
 * 1. whatever the document (fragments spreading fragments, cycles, unknown names), the analysis
 *    visits at most 2 selections per node of its AST: each fragment is read at most once per set
 *    of sized fields it is read under, and onceql's schema has one (`edges`) besides none;
 * 2. a valid query executed against a real server never returns more objects (fields of object
 *    type, each list item counted) than its requested cost, nor an actualQueryCost above it.
 */

function astSize(query: string): number {
  let nodes = 0;
  visit(parse(query), { enter: () => void (nodes += 1) });
  return nodes;
}

const FIELD_NAMES = ['accounts', 'transfers', 'account', 'transfer', 'viewer', 'edges', 'node', 'pageInfo', 'fromAccount', 'tenant', 'id', 'name', '__typename', '__schema', 'types', 'fields', 'ofType', 'nope'];
const TYPE_NAMES = ['Query', 'Mutation', 'AccountConnection', 'AccountEdge', 'Account', 'TransferConnection', 'Transfer', '__Type', 'Nope'];

const { selectionSet } = fc.letrec((tie) => ({
  selectionSet: fc.array(tie('selection'), { minLength: 1, maxLength: 4 }).map((items) => `{ ${(items as string[]).join(' ')} }`),
  selection: fc.oneof(
    { depthSize: 'small', maxDepth: 5 },
    tie('leaf'),
    tie('field'),
    fc.nat(9).map((i) => `...F${i}`),
    fc.tuple(fc.option(fc.constantFrom(...TYPE_NAMES)), tie('selectionSet')).map(([type, set]) => `... ${type === null ? '' : `on ${type} `}${set as string}`),
  ),
  leaf: fc.tuple(fc.option(fc.constantFrom('a', 'b')), fc.constantFrom(...FIELD_NAMES)).map(([alias, name]) => `${alias === null ? '' : `${alias}: `}${name}`),
  field: fc
    .tuple(fc.option(fc.constantFrom('a', 'b')), fc.constantFrom(...FIELD_NAMES), fc.option(fc.oneof(fc.integer({ min: -1, max: 200 }).map(String), fc.constant('$n'))), tie('selectionSet'))
    .map(([alias, name, first, set]) => `${alias === null ? '' : `${alias}: `}${name}${first === null ? '' : `(first: ${first})`} ${set as string}`),
}));

const randomDocument = fc
  .tuple(
    fc.constantFrom('query', 'mutation', 'query($n: Int = 7)'),
    selectionSet,
    fc.array(fc.tuple(fc.constantFrom(...TYPE_NAMES), selectionSet), { maxLength: 10 }),
  )
  .map(([operation, set, fragments]) => `${operation} ${set} ${fragments.map(([type, body], i) => `fragment F${i} on ${type} ${body}`).join(' ')}`);

describe('the analysis is linear in the document', () => {
  const schema = buildLedgerSchema();
  const unbounded = { ...DEFAULT_QUERY_LIMITS, maxCost: Number.POSITIVE_INFINITY, maxSpreads: Number.POSITIVE_INFINITY, maxTokens: 100_000 };

  it('never visits more than 2 selections per AST node of a random document', () => {
    let analysed = 0;
    fc.assert(
      fc.property(randomDocument, fc.option(fc.integer({ min: 0, max: 1000 })), (document, n) => {
        const analysis = analyzeQuery(schema, document, undefined, n === null ? {} : { n }, unbounded);
        if (analysis.kind === 'unparsed') return;
        analysed += 1;
        expect(analysis.visitedNodes).toBeLessThanOrEqual(2 * astSize(document));
      }),
      { numRuns: 500 },
    );
    expect(analysed).toBeGreaterThan(400);
  });
});

describe('the price is an upper bound of what a query returns', () => {
  let server: TestServer;
  let apiKey: string;
  let accountIds: string[];
  beforeAll(async () => {
    server = await startTestServer();
    const tenant = await server.newTenant('property');
    apiKey = tenant.apiKey;
    const ledger = new LedgerStore(server.redis, tenant.tenantId);
    accountIds = [];
    for (let i = 0; i < 6; i++) accountIds.push((await ledger.createAccount({ name: `a${i}`, currency: 'EUR', allowNegativeBalance: i < 3 })).id);
    for (let i = 0; i < 15; i++) {
      await ledger.createTransfer({ fromAccountId: accountIds[i % 3] as string, toAccountId: accountIds[3 + (i % 3)] as string, amount: 5n, currency: 'EUR', reference: null });
    }
  });
  afterAll(async () => {
    await server.stop();
  });

  type Gen = fc.GeneratorValue;
  type TypeName = 'Query' | 'Viewer' | 'Account' | 'Transfer' | 'AccountConnection' | 'TransferConnection' | 'AccountEdge' | 'TransferEdge';

  /** One random valid query over onceql's schema: fields, aliases, fragments, inline fragments, variables. */
  function randomQuery(g: Gen): { query: string; variables: Record<string, unknown> } {
    let counter = 0;
    const fragments: string[] = [];
    const variableDefinitions: string[] = [];
    const variables: Record<string, unknown> = {};
    const first = (): string => {
      const value = g(fc.integer, { min: 1, max: 6 });
      const how = g(fc.constantFrom, 'literal', 'variable', 'default', 'omitted');
      if (how === 'literal') return `(first: ${value})`;
      if (how === 'omitted') return '';
      const name = `v${counter++}`;
      if (how === 'variable') {
        variableDefinitions.push(`$${name}: Int`);
        variables[name] = value;
      } else variableDefinitions.push(`$${name}: Int = ${value}`);
      return `(first: $${name})`;
    };
    const alias = (): string => `f${counter++}: `;
    /** Per type, the fields to pick from: a leaf (or a fixed small object) as text, a nested object as a thunk. */
    const objectFields: Record<TypeName, (depth: number) => (string | (() => string))[]> = {
      Query: (depth) => [
        () => `viewer ${selection('Viewer', depth)}`,
        () => `${alias()}accounts${first()} ${selection('AccountConnection', depth)}`,
        () => `${alias()}transfers${first()} ${selection('TransferConnection', depth)}`,
        () => `${alias()}account(id: "${g(fc.constantFrom, ...accountIds, 'nope')}") ${selection('Account', depth)}`,
      ],
      Viewer: () => ['apiKey { id scopes }', 'tenant { id name }', '__typename'],
      Account: (depth) => ['id', 'name balance', () => `${alias()}transfers${first()} ${selection('TransferConnection', depth)}`],
      Transfer: (depth) => ['id amount', () => `fromAccount ${selection('Account', depth)}`, () => `toAccount ${selection('Account', depth)}`],
      AccountConnection: (depth) => [() => `edges ${selection('AccountEdge', depth)}`, 'pageInfo { hasNextPage endCursor }'],
      TransferConnection: (depth) => [() => `edges ${selection('TransferEdge', depth)}`, 'pageInfo { hasNextPage }'],
      AccountEdge: (depth) => ['cursor', () => `node ${selection('Account', depth)}`],
      TransferEdge: (depth) => ['cursor', () => `node ${selection('Transfer', depth)}`],
    };
    function selection(type: TypeName, depth: number): string {
      const choices = objectFields[type](depth + 1);
      // Deep enough: leaves only (where a type has some), so most queries stay under QUERY_COST_MAX.
      const leaves = choices.filter((choice) => typeof choice === 'string');
      const pool = depth >= 4 && leaves.length > 0 ? leaves : choices;
      const count = g(fc.integer, { min: 1, max: Math.min(3, pool.length) });
      const picked = Array.from({ length: count }, () => {
        const choice = pool[g(fc.nat, pool.length - 1)] as string | (() => string);
        return typeof choice === 'string' ? choice : choice();
      });
      const body = picked.join(' ');
      const wrap = g(fc.constantFrom, 'plain', 'plain', 'inline', 'fragment');
      if (wrap === 'inline') return `{ ... on ${type} { ${body} } }`;
      if (wrap === 'fragment') {
        const name = `Frag${counter++}`;
        fragments.push(`fragment ${name} on ${type} { ${body} }`);
        return `{ ...${name} }`;
      }
      return `{ ${body} }`;
    }
    if (g(fc.boolean)) {
      // A mutation whose result is read on, reached directly, through an inline fragment or a fragment on Mutation.
      const from = accountIds[g(fc.nat, 2)] as string;
      const field = `${alias()}createTransfer(input: {fromAccountId: "${from}", toAccountId: "${accountIds[3] as string}", amount: "1", currency: "EUR"}, idempotencyKey: "${randomUUID()}") ${selection('Transfer', 1)}`;
      const how = g(fc.constantFrom, 'direct', 'inline', 'fragment');
      const root = how === 'direct' ? `{ ${field} }` : how === 'inline' ? `{ ... on Mutation { ${field} } }` : '{ ...M }';
      if (how === 'fragment') fragments.push(`fragment M on Mutation { ${field} }`);
      const header = variableDefinitions.length > 0 ? `mutation(${variableDefinitions.join(', ')})` : 'mutation';
      return { query: `${header} ${root} ${fragments.join(' ')}`, variables };
    }
    const root = selection('Query', 0);
    const header = variableDefinitions.length > 0 ? `query(${variableDefinitions.join(', ')})` : 'query';
    return { query: `${header} ${root} ${fragments.join(' ')}`, variables };
  }

  /** Objects in the answer, counted apart from the server's own rules (the data object excluded). */
  function objectsIn(value: unknown): number {
    if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + objectsIn(item), 0);
    if (value === null || typeof value !== 'object') return 0;
    return 1 + Object.values(value).reduce((sum: number, item) => sum + objectsIn(item), 0);
  }

  it('random valid queries never return more objects than their requested cost', async () => {
    let executed = 0;
    await fc.assert(
      fc.asyncProperty(fc.gen(), async (g) => {
        const { query, variables } = randomQuery(g);
        const response = await gql(server.url, query, variables, { 'api-key': apiKey });
        const code = response.body.errors?.[0]?.extensions?.code;
        if (code === 'QUERY_TOO_COMPLEX') return;
        expect({ query, status: response.status, errors: response.body.errors }).toEqual({ query, status: 200, errors: undefined });
        executed += 1;
        const cost = response.body.extensions?.cost as { requestedQueryCost: number; actualQueryCost: number };
        const returned = objectsIn(response.body.data) - 1;
        expect(cost.actualQueryCost).toBeLessThanOrEqual(cost.requestedQueryCost);
        expect(returned).toBeLessThanOrEqual(cost.requestedQueryCost);
        // actualQueryCost also counts an object field that answered null (its resolver ran).
        expect(cost.actualQueryCost).toBeGreaterThanOrEqual(returned);
      }),
      { numRuns: 150 },
    );
    expect(executed).toBeGreaterThan(100);
  });
});
