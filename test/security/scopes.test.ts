import { randomUUID } from 'node:crypto';
import { getNamedType, isObjectType, Kind, parse } from 'graphql';
import { buildLedgerSchema } from '../../src/graphql/schema';
import { requiredScopesOf } from '../../src/graphql/scope';
import { findScopeViolations } from '../../src/graphql/scope.plugin';
import { commandNames, watchTenantCommands } from '../helpers/monitor';
import { codes, gql, startTestServer } from '../helpers/server';
import type { GraphQLResponse, TestServer } from '../helpers/server';

// Item 4 of issue 10: scopes on every field, and minting that cannot escalate. Every attack goes
// over real HTTP; each refusal is checked with what did NOT happen (balances, transfers, idempotency
// records, Redis commands) and with a normal client being served at the same time.

const TENANT_RATE = 500;
let server: TestServer;
beforeAll(async () => {
  // A tenant rate under the validation maximum, so that "above the tenant's" can be asked for;
  // the burst stays generous, so only the minting rules refuse anything here.
  server = await startTestServer({ RATE_LIMIT_PER_SECOND: String(TENANT_RATE) });
});
afterAll(async () => {
  await server.stop();
});

type Body = GraphQLResponse['body'];
const as = (apiKey: string) => ({ 'api-key': apiKey });

async function call(apiKey: string, query: string, variables: Record<string, unknown> = {}, operationName?: string): Promise<GraphQLResponse> {
  if (operationName === undefined) return gql(server.url, query, variables, as(apiKey));
  const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', ...as(apiKey) }, body: JSON.stringify({ query, variables, operationName }) });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Body };
}

async function data<T = Record<string, unknown>>(apiKey: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const response = await call(apiKey, query, variables);
  if (response.status !== 200 || response.body.errors) throw new Error(`${query} failed: ${JSON.stringify(response.body)}`);
  return response.body.data as T;
}

const CREATE_KEY = `mutation Mint($input: CreateApiKeyInput!, $idempotencyKey: String) {
  createApiKey(input: $input, idempotencyKey: $idempotencyKey) { secret apiKey { id scopes ipAllowlist } } }`;

interface NewKey {
  name?: string;
  scopes: string[];
  ipAllowlist?: string[] | null;
  rateLimitPerSecond?: number | null;
}

async function mint(minter: string, key: NewKey, idempotencyKey: string | null = null): Promise<GraphQLResponse> {
  return call(minter, CREATE_KEY, { input: { name: key.name ?? 'minted', ipAllowlist: null, rateLimitPerSecond: null, ...key }, idempotencyKey });
}

async function minted(minter: string, key: NewKey): Promise<string> {
  const response = await mint(minter, key);
  const secret = (response.body.data?.createApiKey as { secret?: string } | null)?.secret;
  if (response.status !== 200 || typeof secret !== 'string') throw new Error(`mint failed: ${JSON.stringify(response.body)}`);
  return secret;
}

/** A tenant with a funding account, two EUR accounts and one transfer between them. */
async function ledgerTenant() {
  const { tenantId, apiKey: admin } = await server.newTenant('scopes');
  const open = async (name: string, allowNegativeBalance = false) =>
    (await data<{ createAccount: { id: string } }>(admin, 'mutation($i: CreateAccountInput!) { createAccount(input: $i) { id } }', { i: { name, currency: 'EUR', allowNegativeBalance } })).createAccount.id;
  const funding = await open('Funding', true);
  const alice = await open('Alice');
  const bob = await open('Bob');
  const move = (from: string, to: string, amount: string) =>
    data(admin, 'mutation($i: CreateTransferInput!, $k: String) { createTransfer(input: $i, idempotencyKey: $k) { id } }', { i: { fromAccountId: from, toAccountId: to, amount, currency: 'EUR' }, k: randomUUID() });
  await move(funding, alice, '10000');
  await move(alice, bob, '100');
  return { tenantId, admin, funding, alice, bob };
}

/** What a refused request must leave as it was: every balance and the list of transfers. */
async function ledgerState(admin: string): Promise<unknown> {
  return data(admin, '{ accounts(first: 100) { edges { node { id balance } } } transfers(first: 100) { edges { node { id } } } }');
}

async function idempotencyRecord(admin: string, key: string): Promise<unknown> {
  return (await data<{ idempotencyRecord: unknown }>(admin, 'query($k: String!) { idempotencyRecord(key: $k) { status } }', { k: key })).idempotencyRecord;
}

describe('every field that reads stored data needs READ, wherever it appears', () => {
  it('declares a decision for every field of the schema', () => {
    // A new field fails here until someone decides what scope it needs (see src/graphql/scope.ts).
    const schema = buildLedgerSchema();
    const declared: Record<string, string> = {};
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__')) continue;
      for (const field of Object.values(type.getFields())) declared[`${type.name}.${field.name}`] = requiredScopesOf(field).join(',');
    }
    const read = ['Query.account', 'Query.accounts', 'Query.transfer', 'Query.transfers', 'Query.idempotencyRecord', 'Account.transfers', 'Transfer.fromAccount', 'Transfer.toAccount'];
    const write = ['Mutation.createAccount', 'Mutation.createTransfer'];
    const admin = ['Query.apiKeys', 'Mutation.createApiKey', 'Mutation.revokeApiKey'];
    const expected: Record<string, string> = {};
    for (const coordinate of Object.keys(declared)) expected[coordinate] = '';
    for (const coordinate of read) expected[coordinate] = 'read';
    for (const coordinate of write) expected[coordinate] = 'write';
    for (const coordinate of admin) expected[coordinate] = 'admin';
    expect(declared).toEqual(expected);
    // The fields needing nothing are the objects' own data, reached only through a field that decided.
    const free = Object.keys(declared).filter((coordinate) => declared[coordinate] === '');
    expect(free).toContain('Query.viewer');
    const objectFieldsThatNeedNothing = free.filter((coordinate) => {
      const [typeName = '', fieldName = ''] = coordinate.split('.');
      const type = schema.getType(typeName);
      return isObjectType(type) && isObjectType(getNamedType(type.getFields()[fieldName]?.type));
    });
    // Object-valued fields that need nothing return what their parent already holds (no load).
    expect(objectFieldsThatNeedNothing.sort()).toEqual(
      ['AccountConnection.edges', 'AccountConnection.pageInfo', 'AccountEdge.node', 'CreatedApiKey.apiKey', 'Query.viewer', 'TransferConnection.edges', 'TransferConnection.pageInfo', 'TransferEdge.node', 'Viewer.apiKey', 'Viewer.tenant'].sort(),
    );
  });

  it('walks each fragment once, however often it is spread', () => {
    // 30 fragments, each spreading the next twice: 2^30 paths, 30 fragments to read.
    const depth = 30;
    const fragments = Array.from({ length: depth }, (_, i) => (i === depth - 1 ? `fragment F${i} on Transfer { fromAccount { id } }` : `fragment F${i} on Transfer { id ...F${i + 1} ...F${i + 1} }`));
    const document = parse(`mutation { createTransfer(input: { fromAccountId: "a", toAccountId: "b", amount: "1", currency: "EUR" }) { ...F0 } } ${fragments.join(' ')}`);
    let reads = 0;
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.FRAGMENT_DEFINITION && definition.kind !== Kind.OPERATION_DEFINITION) continue;
      const selectionSet = definition.selectionSet;
      const selections = selectionSet.selections;
      Object.defineProperty(selectionSet, 'selections', {
        get: () => {
          reads += 1;
          return selections;
        },
      });
    }
    const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
    if (operation?.kind !== Kind.OPERATION_DEFINITION) throw new Error('no operation');
    expect(findScopeViolations(buildLedgerSchema(), document, operation, ['write'])).toEqual([{ coordinate: 'Transfer.fromAccount', missing: ['read'] }]);
    expect(reads).toBe(depth + 1);
  });

  it('refuses a WRITE-only key that reads through a mutation result, before anything executes', async () => {
    const { tenantId, admin, alice, bob } = await ledgerTenant();
    const writeOnly = await minted(admin, { scopes: ['WRITE'] });
    const bystander = await server.newTenant('bystander');
    const before = await ledgerState(admin);
    const input = { fromAccountId: alice, toAccountId: bob, amount: '7', currency: 'EUR' };
    const transfer = (selection: string) => `mutation($i: CreateTransferInput!, $k: String) { createTransfer(input: $i, idempotencyKey: $k) ${selection} }`;
    const attacks: [string, string, string[], Record<string, unknown>?][] = [
      ['balance of the debited account', transfer('{ id fromAccount { balance } }'), ['Transfer.fromAccount']],
      ['name of the credited account', transfer('{ id toAccount { name } }'), ['Transfer.toAccount']],
      ['transfer list of an account', transfer('{ id fromAccount { transfers { edges { node { amount } } } } }'), ['Transfer.fromAccount', 'Account.transfers']],
      ['only an id, under an alias', transfer('{ id a: fromAccount { b: id } }'), ['Transfer.fromAccount']],
      ['only __typename', transfer('{ id toAccount { __typename } }'), ['Transfer.toAccount']],
      ['a named fragment', `${transfer('{ ...T }')} fragment T on Transfer { id fromAccount { id } }`, ['Transfer.fromAccount']],
      ['a fragment spread inside a fragment', `${transfer('{ ...T }')} fragment T on Transfer { id toAccount { ...A } } fragment A on Account { balance }`, ['Transfer.toAccount']],
      ['an inline fragment without a type', transfer('{ id ... { fromAccount { id } } }'), ['Transfer.fromAccount']],
      ['an inline fragment on Transfer', transfer('{ id ... on Transfer { toAccount { id } } }'), ['Transfer.toAccount']],
      [
        'an inline fragment on the Mutation root',
        'mutation($i: CreateTransferInput!, $k: String) { ... on Mutation { createTransfer(input: $i, idempotencyKey: $k) { fromAccount { balance } } } }',
        ['Transfer.fromAccount'],
      ],
      ['a field under @include(if: false)', 'mutation($i: CreateTransferInput!, $k: String, $no: Boolean!) { createTransfer(input: $i, idempotencyKey: $k) { id fromAccount @include(if: $no) { id } } }', ['Transfer.fromAccount'], { no: false }],
      ['a field under @skip(if: true)', transfer('{ id toAccount @skip(if: true) { id } }'), ['Transfer.toAccount']],
      [
        'a harmless mutation beside it',
        'mutation($i: CreateTransferInput!, $k: String) { createAccount(input: { name: "Mallory", currency: "EUR" }) { id } createTransfer(input: $i, idempotencyKey: $k) { fromAccount { balance } } }',
        ['Transfer.fromAccount'],
      ],
      ['a new account\'s transfers', 'mutation($k: String) { createAccount(input: { name: "Eve", currency: "EUR" }, idempotencyKey: $k) { id transfers { edges { node { id } } } } }', ['Account.transfers']],
      ['a query beside the mutation', '{ viewer { tenant { id } } accounts { edges { node { id } } } }', ['Query.accounts']],
    ];
    const watch = await watchTenantCommands(tenantId);
    try {
      for (const [name, query, coordinates, extra] of attacks) {
        const idempotencyKey = randomUUID();
        await watch.take();
        // A normal client of another tenant is served while the attack is answered.
        const [refused, normal] = await Promise.all([call(writeOnly, query, { i: input, k: idempotencyKey, ...extra }), call(bystander.apiKey, '{ viewer { tenant { id } } }')]);
        expect([name, refused.status, codes(refused), refused.body.data]).toEqual([name, 403, ['FORBIDDEN'], undefined]);
        for (const coordinate of coordinates) expect(refused.body.errors?.[0]?.message).toContain(`${coordinate} needs the READ scope`);
        expect(normal.status).toBe(200);
        // Only the admit step (and a refund of the query cost) reached Redis for this tenant: no
        // command named an account, a transfer, the sequence or an idempotency record.
        const commands = await watch.take();
        expect(commandNames(commands).every((command) => command === 'evalsha')).toBe(true);
        const touched = commands.flatMap((args) => args.filter((arg) => arg.includes(`{t:${tenantId}}`)).map((key) => key.slice(key.indexOf('}:') + 2)));
        expect([name, touched.filter((key) => !/^(apikey:[a-z0-9]+|rate|rate:key:[a-z0-9]+|cost)$/.test(key))]).toEqual([name, []]);
        expect(touched.some((key) => key.startsWith('apikey:'))).toBe(true);
        expect(await idempotencyRecord(admin, idempotencyKey)).toBeNull();
      }
    } finally {
      watch.stop();
    }
    expect(await ledgerState(admin)).toEqual(before);
  });

  it('checks the operation that runs, not its neighbours in the document', async () => {
    const { admin, alice, bob } = await ledgerTenant();
    const writeOnly = await minted(admin, { scopes: ['WRITE'] });
    const document = `
      mutation Plain($i: CreateTransferInput!, $k: String) { createTransfer(input: $i, idempotencyKey: $k) { ...Own } }
      mutation Nosy($i: CreateTransferInput!, $k: String) { createTransfer(input: $i, idempotencyKey: $k) { ...Own fromAccount { balance } } }
      fragment Own on Transfer { id amount }`;
    const input = { fromAccountId: alice, toAccountId: bob, amount: '3', currency: 'EUR' };
    const nosy = await call(writeOnly, document, { i: input, k: randomUUID() }, 'Nosy');
    expect([nosy.status, codes(nosy)]).toEqual([403, ['FORBIDDEN']]);
    const plain = await call(writeOnly, document, { i: input, k: randomUUID() }, 'Plain');
    expect([plain.status, codes(plain), plain.body.data?.createTransfer]).toEqual([200, [], expect.objectContaining({ amount: '3' })]);
  });

  it('lets a WRITE-only key see the scalars of what it created, live and replayed', async () => {
    const { admin, alice, bob } = await ledgerTenant();
    const writeOnly = await minted(admin, { scopes: ['WRITE'] });
    const idempotencyKey = randomUUID();
    const send = () =>
      call(writeOnly, 'mutation($i: CreateTransferInput!, $k: String) { createTransfer(input: $i, idempotencyKey: $k) { __typename id amount currency reference createdAt } }', {
        i: { fromAccountId: alice, toAccountId: bob, amount: '25', currency: 'EUR', reference: 'rent' },
        k: idempotencyKey,
      });
    const created = await send();
    expect([created.status, codes(created)]).toEqual([200, []]);
    expect(created.body.data?.createTransfer).toMatchObject({ __typename: 'Transfer', amount: '25', currency: 'EUR', reference: 'rent' });
    const replayed = await send();
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.body.data).toEqual(created.body.data);
    const balances = await data<{ a: { balance: string }; b: { balance: string } }>(admin, 'query($a: ID!, $b: ID!) { a: account(id: $a) { balance } b: account(id: $b) { balance } }', { a: alice, b: bob });
    expect(balances).toEqual({ a: { balance: String(10000 - 100 - 25) }, b: { balance: String(100 + 25) } });

    const account = await call(writeOnly, 'mutation { createAccount(input: { name: "Carol", currency: "EUR" }) { id name currency balance allowNegativeBalance createdAt } }');
    expect([account.status, codes(account)]).toEqual([200, []]);
    expect(account.body.data?.createAccount).toMatchObject({ name: 'Carol', currency: 'EUR', balance: '0', allowNegativeBalance: false });
  });

  it('lets a READ+WRITE key read through the mutation result', async () => {
    const { admin, alice, bob } = await ledgerTenant();
    const readWrite = await minted(admin, { scopes: ['READ', 'WRITE'] });
    const response = await call(
      readWrite,
      'mutation($i: CreateTransferInput!, $k: String) { createTransfer(input: $i, idempotencyKey: $k) { amount fromAccount { balance transfers { edges { node { amount } } } } toAccount { name balance } } }',
      { i: { fromAccountId: alice, toAccountId: bob, amount: '5', currency: 'EUR' }, k: randomUUID() },
    );
    expect([response.status, codes(response)]).toEqual([200, []]);
    expect(response.body.data?.createTransfer).toEqual({
      amount: '5',
      fromAccount: { balance: String(10000 - 100 - 5), transfers: { edges: [{ node: { amount: '10000' } }, { node: { amount: '100' } }, { node: { amount: '5' } }] } },
      toAccount: { name: 'Bob', balance: '105' },
    });
  });

  it('refuses a READ-only or ADMIN-only key the fields it lacks, and a READ key never writes', async () => {
    const { admin } = await ledgerTenant();
    const readOnly = await minted(admin, { scopes: ['READ'] });
    const adminOnly = await minted(admin, { scopes: ['ADMIN'] });
    const before = await ledgerState(admin);
    const write = await call(readOnly, 'mutation { createAccount(input: { name: "X", currency: "EUR" }) { id } }');
    expect([write.status, codes(write), write.body.errors?.[0]?.message]).toEqual([403, ['FORBIDDEN'], expect.stringContaining('Mutation.createAccount needs the WRITE scope')]);
    const keys = await call(readOnly, '{ apiKeys { id } }');
    expect([keys.status, codes(keys)]).toEqual([403, ['FORBIDDEN']]);
    const ledger = await call(adminOnly, 'mutation { createApiKey(input: { name: "n", scopes: [ADMIN] }) { apiKey { id } } } ');
    expect([ledger.status, codes(ledger)]).toEqual([200, []]);
    const nosy = await call(adminOnly, '{ viewer { apiKey { scopes } tenant { name } } transfers { edges { node { id } } } }');
    expect([nosy.status, codes(nosy), nosy.body.errors?.[0]?.message]).toEqual([403, ['FORBIDDEN'], expect.stringContaining('Query.transfers needs the READ scope')]);
    expect((await call(adminOnly, '{ viewer { apiKey { scopes } tenant { name } } }')).status).toBe(200);
    expect(await ledgerState(admin)).toEqual(before);
  });
});

describe('minting cannot escalate', () => {
  /** The refusal of a mint: 403 FORBIDDEN naming its rule, the field null, nothing recorded. */
  async function expectRefused(minter: string, key: NewKey, rule: string, says: RegExp, admin: string): Promise<void> {
    const idempotencyKey = randomUUID();
    const before = await data<{ apiKeys: unknown[] }>(admin, '{ apiKeys { id } }');
    const refused = await mint(minter, key, idempotencyKey);
    expect([JSON.stringify(key), refused.status, codes(refused), refused.body.errors?.[0]?.extensions?.rule]).toEqual([JSON.stringify(key), 403, ['FORBIDDEN'], rule]);
    expect(refused.body.errors?.[0]?.message).toMatch(says);
    expect(refused.body.data).toEqual({ createApiKey: null });
    expect(await idempotencyRecord(admin, idempotencyKey)).toBeNull();
    expect((await data<{ apiKeys: unknown[] }>(admin, '{ apiKeys { id } }')).apiKeys).toHaveLength(before.apiKeys.length);
  }

  it('refuses scopes, allowlists and rates beyond the minting key, and still mints within them', async () => {
    const { apiKey: admin } = await server.newTenant('minting');
    const minter = await minted(admin, { scopes: ['ADMIN', 'READ'], ipAllowlist: ['127.0.0.0/8'], rateLimitPerSecond: 100 });
    const within = { scopes: ['READ'], ipAllowlist: ['127.0.0.1'], rateLimitPerSecond: 100 };

    await expectRefused(minter, { ...within, scopes: ['READ', 'WRITE'] }, 'scopes', /scopes it has itself.*lacks WRITE/, admin);
    await expectRefused(minter, { ...within, scopes: ['WRITE'] }, 'scopes', /lacks WRITE/, admin);
    await expectRefused(minter, { ...within, ipAllowlist: null }, 'ipAllowlist', /needs an ipAllowlist within/, admin);
    await expectRefused(minter, { ...within, ipAllowlist: [] }, 'ipAllowlist', /needs an ipAllowlist within/, admin);
    await expectRefused(minter, { ...within, ipAllowlist: ['0.0.0.0/0'] }, 'ipAllowlist', /0\.0\.0\.0\/0 is not inside/, admin);
    await expectRefused(minter, { ...within, ipAllowlist: ['127.0.0.1', '10.0.0.1'] }, 'ipAllowlist', /10\.0\.0\.1\/32 is not inside/, admin);
    await expectRefused(minter, { ...within, ipAllowlist: ['126.0.0.0/7'] }, 'ipAllowlist', /not inside/, admin);
    // The same addresses spelled as IPv6: every IPv4 address, and everything.
    await expectRefused(minter, { ...within, ipAllowlist: ['::ffff:0:0/96'] }, 'ipAllowlist', /not inside/, admin);
    await expectRefused(minter, { ...within, ipAllowlist: ['::/0'] }, 'ipAllowlist', /not inside/, admin);
    await expectRefused(minter, { ...within, rateLimitPerSecond: 101 }, 'rateLimitPerSecond', /above this key's own limit of 100/, admin);
    await expectRefused(minter, { ...within, rateLimitPerSecond: null }, 'rateLimitPerSecond', /limited to 100.*needs a rateLimitPerSecond/, admin);
    await expectRefused(minter, { ...within, rateLimitPerSecond: TENANT_RATE + 1 }, 'rateLimitPerSecond', new RegExp(`above the tenant's limit of ${TENANT_RATE}`), admin);

    // Within every rule, the same key still mints, and the new key works.
    const child = await minted(minter, within);
    expect((await call(child, '{ viewer { apiKey { scopes ipAllowlist } } }')).body.data).toEqual({ viewer: { apiKey: { scopes: ['READ'], ipAllowlist: ['127.0.0.1/32'] } } });
    // Host bits and the IPv4-mapped spelling of its own range name the same addresses: allowed.
    await minted(minter, { ...within, ipAllowlist: ['127.1.2.3/8'] });
    await minted(minter, { ...within, ipAllowlist: ['::ffff:127.0.0.0/104'] });
  });

  it("holds a key without its own rate to the tenant's", async () => {
    const { apiKey: admin } = await server.newTenant('minting');
    await expectRefused(admin, { scopes: ['READ'], rateLimitPerSecond: TENANT_RATE + 1 }, 'rateLimitPerSecond', /above the tenant's limit/, admin);
    await expectRefused(admin, { scopes: ['READ'], rateLimitPerSecond: 1_000_000 }, 'rateLimitPerSecond', /above the tenant's limit/, admin);
    await minted(admin, { scopes: ['READ'], rateLimitPerSecond: TENANT_RATE });
    await minted(admin, { scopes: ['READ'], rateLimitPerSecond: null });
  });

  it('holds every link of a chain of keys minting keys to the one before it', async () => {
    const { apiKey: admin } = await server.newTenant('minting');
    const first = await minted(admin, { scopes: ['ADMIN', 'READ', 'WRITE'], ipAllowlist: ['127.0.0.0/8'], rateLimitPerSecond: 100 });
    const second = await minted(first, { scopes: ['ADMIN', 'READ'], ipAllowlist: ['127.0.0.1'], rateLimitPerSecond: 10 });
    await expectRefused(second, { scopes: ['ADMIN', 'READ'], ipAllowlist: ['127.0.0.0/8'], rateLimitPerSecond: 10 }, 'ipAllowlist', /not inside/, admin);
    await expectRefused(second, { scopes: ['ADMIN', 'WRITE'], ipAllowlist: ['127.0.0.1'], rateLimitPerSecond: 10 }, 'scopes', /lacks WRITE/, admin);
    await expectRefused(second, { scopes: ['ADMIN'], ipAllowlist: ['127.0.0.1'], rateLimitPerSecond: 11 }, 'rateLimitPerSecond', /own limit of 10/, admin);
    const third = await minted(second, { scopes: ['ADMIN'], ipAllowlist: ['127.0.0.1'], rateLimitPerSecond: 5 });
    await expectRefused(third, { scopes: ['ADMIN', 'READ'], ipAllowlist: ['127.0.0.1'], rateLimitPerSecond: 5 }, 'scopes', /lacks READ/, admin);
    await minted(third, { scopes: ['ADMIN'], ipAllowlist: ['127.0.0.1'], rateLimitPerSecond: 1 });
  });

  it('cannot get a broader key by replaying, aliasing or batching mints', async () => {
    const { apiKey: admin } = await server.newTenant('minting');
    const lesser = await minted(admin, { scopes: ['ADMIN'] });
    // The tenant's admin key minted a WRITE key under an idempotency key; the lesser key replays it.
    const idempotencyKey = randomUUID();
    const broad = { name: 'broad', scopes: ['ADMIN', 'WRITE'], ipAllowlist: null, rateLimitPerSecond: null };
    expect((await mint(admin, broad, idempotencyKey)).status).toBe(200);
    const replay = await mint(lesser, broad, idempotencyKey);
    expect([replay.status, codes(replay), replay.body.data]).toEqual([403, ['FORBIDDEN'], { createApiKey: null }]);
    expect(replay.headers.get('idempotent-replayed')).toBeNull();

    // Two mints in one operation: each is judged on its own; the escalating one is refused.
    const batch = await call(
      lesser,
      `mutation { ok: createApiKey(input: { name: "ok", scopes: [ADMIN] }) { apiKey { scopes } }
                  sneaky: createApiKey(input: { name: "sneaky", scopes: [ADMIN, READ] }) { apiKey { scopes } } }`,
    );
    expect(batch.body.data).toEqual({ ok: { apiKey: { scopes: ['ADMIN'] } }, sneaky: null });
    expect(batch.body.errors?.map((error) => [error.path, error.extensions?.code])).toEqual([[['sneaky'], 'FORBIDDEN']]);
    const listed = await data<{ apiKeys: { name: string }[] }>(admin, '{ apiKeys { name } }');
    expect(listed.apiKeys.map((key) => key.name)).not.toContain('sneaky');
  });
});

describe("a key's own rate is no way around the tenant's", () => {
  it('draws every request of a key with its own rate from the tenant bucket too', async () => {
    // 1 request a second with 4 at once: the keys made below have the same rate, each its own bucket.
    const limited = await startTestServer({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '4' });
    try {
      const tenant = await limited.newTenant('rate');
      const bystander = await limited.newTenant('bystander');
      // Made by the operator's path, so the tenant's bucket is still full when the test starts.
      const keys = await Promise.all(
        ['a', 'b', 'c'].map(async (name) => (await limited.auth.createApiKey(tenant.tenantId, { name, scopes: ['read'], rateLimitPerSecond: 1 })).secret as string),
      );
      const viewer = (apiKey: string) => gql(limited.url, '{ viewer { apiKey { id } } }', {}, as(apiKey));
      const statuses: number[] = [];
      for (const key of keys) for (let i = 0; i < 4; i++) statuses.push((await viewer(key)).status);
      // Separate buckets alone would admit all 12; the tenant's admits its burst of 4 (plus one a
      // second, should the run be slow), and a refusal charged nothing to the key's own bucket.
      expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
      expect(statuses.filter((status) => status === 200).length).toBeLessThan(8);
      const refused = await viewer(keys[2] as string);
      expect([refused.status, codes(refused), refused.body.errors?.[0]?.message]).toEqual([429, ['RATE_LIMITED'], expect.stringContaining('rate limit of 1 ')]);
      // Another tenant is served all along.
      expect((await viewer(bystander.apiKey)).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});
