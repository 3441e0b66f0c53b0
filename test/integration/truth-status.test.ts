import { randomUUID } from 'node:crypto';
import { ledgerClient } from '../helpers/ledger';
import { codes, gql, startTestServer } from '../helpers/server';
import type { GraphQLResponse, TestServer } from '../helpers/server';
import { tenantKeys } from '../../src/redis/keys';

// Every answer's status tells the truth about what happened: a 4xx means nothing was written, and
// a mutation that committed is answered 200, nested errors or not. Real HTTP, real Redis.

let server: TestServer;
beforeAll(async () => {
  // A cost limit out of the way, so that what is tested here is the argument checks themselves
  // (with the default limit, a large `first` is refused earlier as QUERY_TOO_COMPLEX, also a 400).
  server = await startTestServer({ QUERY_COST_MAX: '10000000' });
});
afterAll(async () => {
  await server.stop();
});

async function newLedger() {
  const tenant = await server.newTenant();
  const client = ledgerClient(server.url, tenant.apiKey);
  const funding = await client.account('Funding', 'EUR', true);
  const alice = await client.account('Alice');
  const bob = await client.account('Bob');
  const funded = await client.transfer(funding, alice, '1000');
  if (funded.status !== 200) throw new Error(`funding failed: ${JSON.stringify(funded.body)}`);
  const keys = tenantKeys(tenant.tenantId);
  const post = (query: string, variables?: Record<string, unknown>) => gql(server.url, query, variables, client.headers);

  /** What the tenant's ledger holds: balances, how many accounts, transfers and api keys. */
  async function ledgerState() {
    const balances = await Promise.all([funding, alice, bob].map((id) => server.redis.hget(keys.account(id), 'balance')));
    return {
      balances,
      accounts: await server.redis.zcard(keys.accounts),
      transfers: await server.redis.zcard(keys.transfers),
      apiKeys: await server.redis.zcard(keys.apiKeys),
    };
  }

  async function recordOf(key: string) {
    const response = await post('query($k: String!) { idempotencyRecord(key: $k) { status outcome errorCode resourceId } }', { k: key });
    expect(response.status).toBe(200);
    return response.body.data?.idempotencyRecord as { status: string; outcome: string; errorCode: string | null; resourceId: string | null } | null;
  }

  return { ...tenant, client, funding, alice, bob, keys, post, ledgerState, recordOf };
}

type Ledger = Awaited<ReturnType<typeof newLedger>>;

function transferMutation(selection: string, variables = '', fragments = ''): string {
  return `mutation($from: ID!, $to: ID!, $key: String${variables}) {
    createTransfer(input: { fromAccountId: $from, toAccountId: $to, amount: "10", currency: "EUR" }, idempotencyKey: $key) ${selection}
  } ${fragments}`;
}

/** A refusal before execution: 400 BAD_USER_INPUT, one small error, nothing stored for the key. */
async function expectRefusedBeforeExecution(ledger: Ledger, response: GraphQLResponse<unknown>, key: string, before: unknown): Promise<void> {
  expect(response.status).toBe(400);
  expect(codes(response)).toEqual(['BAD_USER_INPUT']);
  expect(response.body.data).toBeUndefined();
  expect(await ledger.ledgerState()).toEqual(before);
  expect(await ledger.recordOf(key)).toBeNull();
}

describe('a bad nested argument refuses the whole mutation before anything is written', () => {
  const nested: [string, string, string, string, Record<string, unknown>][] = [
    ['first: 0 under toAccount', '{ id toAccount { transfers(first: 0) { edges { cursor } } } }', '', '', {}],
    ['first: 101 under fromAccount', '{ id fromAccount { transfers(first: 101) { edges { cursor } } } }', '', '', {}],
    ['a forged after cursor', '{ id toAccount { transfers(first: 5, after: "bm90LWEtY3Vyc29y") { edges { cursor } } } }', '', '', {}],
    ['first: 0 inside a fragment', '{ ...T }', '', 'fragment T on Transfer { id toAccount { ...A } } fragment A on Account { transfers(first: 0) { edges { cursor } } }', {}],
    ['first: 0 inside an inline fragment', '{ ... on Transfer { toAccount { transfers(first: 0) { edges { cursor } } } } }', '', '', {}],
    ['first from a variable', '{ id toAccount { transfers(first: $n) { edges { cursor } } } }', ', $n: Int', '', { n: 0 }],
    ['first from a variable default', '{ id toAccount { transfers(first: $n) { edges { cursor } } } }', ', $n: Int = 500', '', {}],
    ['after from a variable', '{ id toAccount { transfers(after: $a) { edges { cursor } } } }', ', $a: String', '', { a: 'not a cursor' }],
    ['after from a variable, in a fragment', '{ ...T }', ', $a: String', 'fragment T on Transfer { fromAccount { transfers(first: 1, after: $a) { edges { cursor } } } }', { a: '' }],
  ];

  it.each(nested)('%s: 400 BAD_USER_INPUT, balances, transfers and the key untouched', async (_name, selection, variables, fragments, extra) => {
    const ledger = await newLedger();
    const before = await ledger.ledgerState();
    const key = randomUUID();
    const response = await ledger.post(transferMutation(selection, variables, fragments), { from: ledger.alice, to: ledger.bob, key, ...extra });
    await expectRefusedBeforeExecution(ledger, response, key, before);
    expect(response.body.errors?.[0]?.extensions?.coordinate).toBe('Account.transfers');
    expect(response.body.errors?.[0]?.message).toMatch(/first must be between 1 and 100|after must be a cursor/);

    // The key was not used: the same key with a valid selection executes, once.
    const retry = await ledger.post(transferMutation('{ id toAccount { balance transfers(first: 1) { edges { cursor } } } }'), { from: ledger.alice, to: ledger.bob, key });
    expect(retry.status).toBe(200);
    expect(retry.body.extensions?.idempotency).toEqual([{ path: ['createTransfer'], key, status: 'EXECUTED' }]);
    expect((await ledger.ledgerState()).transfers).toBe(before.transfers + 1);
  });

  it('a skipped field is not checked, an included one is', async () => {
    const ledger = await newLedger();
    const selection = '{ id toAccount { transfers(first: 0) @include(if: $deep) { edges { cursor } } } }';
    const skipped = await ledger.post(transferMutation(selection, ', $deep: Boolean!'), { from: ledger.alice, to: ledger.bob, key: randomUUID(), deep: false });
    expect(skipped.status).toBe(200);
    expect(skipped.body.errors).toBeUndefined();
    const before = await ledger.ledgerState();
    const key = randomUUID();
    const included = await ledger.post(transferMutation(selection, ', $deep: Boolean!'), { from: ledger.alice, to: ledger.bob, key, deep: true });
    await expectRefusedBeforeExecution(ledger, included, key, before);
  });

  it('a bad argument of a later root field refuses the earlier ones too', async () => {
    const ledger = await newLedger();
    const before = await ledger.ledgerState();
    const keyA = randomUUID();
    const response = await ledger.post(
      `mutation($from: ID!, $to: ID!, $a: String) {
        a: createTransfer(input: { fromAccountId: $from, toAccountId: $to, amount: "10", currency: "EUR" }, idempotencyKey: $a) { id }
        b: createAccount(input: { name: "", currency: "EUR" }) { id }
      }`,
      { from: ledger.alice, to: ledger.bob, a: keyA },
    );
    await expectRefusedBeforeExecution(ledger, response, keyA, before);
    const badKey = await ledger.post(
      `mutation($from: ID!, $to: ID!, $a: String) {
        a: createTransfer(input: { fromAccountId: $from, toAccountId: $to, amount: "10", currency: "EUR" }, idempotencyKey: $a) { id }
        b: createAccount(input: { name: "Carol", currency: "EUR" }, idempotencyKey: "has spaces") { id }
      }`,
      { from: ledger.alice, to: ledger.bob, a: keyA },
    );
    expect(badKey.status).toBe(400);
    expect(codes(badKey)).toEqual(['IDEMPOTENCY_KEY_INVALID']);
    expect(await ledger.ledgerState()).toEqual(before);
    expect(await ledger.recordOf(keyA)).toBeNull();
  });

  it('query fields keep answering null for ids that do not exist: only stored-data-free checks run early', async () => {
    const ledger = await newLedger();
    const response = await ledger.post('{ account(id: "doesnotexist") { id } transfer(id: "NOT-AN-ID") { id } transfers(accountId: "nope", first: 3) { edges { cursor } } }');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ data: { account: null, transfer: null, transfers: { edges: [] } }, extensions: expect.anything() });
    const badPage = await ledger.post('{ transfers(accountId: "nope", first: 0) { edges { cursor } } }');
    expect(badPage.status).toBe(400);
    expect(codes(badPage)).toEqual(['BAD_USER_INPUT']);
  });
});

describe('a mutation that committed is answered 200, whatever fails below it', () => {
  it('a nested field error after the commit: 200 with the error, the money moved and the record SUCCEEDED', async () => {
    const ledger = await newLedger();
    // A stored createdAt that cannot be served makes Account.createdAt fail after the transfer
    // committed (the transfer script never reads it). Non-null fields take createTransfer with them.
    await server.redis.hset(ledger.keys.account(ledger.bob), 'createdAt', 'not-a-time');
    const before = await ledger.ledgerState();
    const key = randomUUID();
    const response = await ledger.post(transferMutation('{ id amount toAccount { id createdAt } }'), { from: ledger.alice, to: ledger.bob, key });
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ createTransfer: null });
    expect(response.body.errors?.map((error) => error.path)).toEqual([['createTransfer', 'toAccount', 'createdAt']]);
    expect(response.body.extensions?.idempotency).toEqual([{ path: ['createTransfer'], key, status: 'EXECUTED' }]);
    const after = await ledger.ledgerState();
    expect(after.transfers).toBe(before.transfers + 1);
    expect(after.balances).toEqual([before.balances[0], '990', '10']);
    expect(await ledger.recordOf(key)).toMatchObject({ status: 'COMPLETED', outcome: 'SUCCEEDED' });

    // The retry a client makes with the same key replays (200 again), and moves nothing more.
    const retry = await ledger.post(transferMutation('{ id amount toAccount { id createdAt } }'), { from: ledger.alice, to: ledger.bob, key });
    expect(retry.status).toBe(200);
    expect(retry.body.extensions?.idempotency).toEqual([{ path: ['createTransfer'], key, status: 'REPLAYED' }]);
    expect((await ledger.ledgerState()).transfers).toBe(before.transfers + 1);
  });

  it('the same nested failure on a replay of a committed transfer is 200 too', async () => {
    const ledger = await newLedger();
    const key = randomUUID();
    const first = await ledger.post(transferMutation('{ id }'), { from: ledger.alice, to: ledger.bob, key });
    expect(first.status).toBe(200);
    await server.redis.hset(ledger.keys.account(ledger.alice), 'createdAt', 'not-a-time');
    const replay = await ledger.post(transferMutation('{ id fromAccount { createdAt } }'), { from: ledger.alice, to: ledger.bob, key });
    expect(replay.status).toBe(200);
    expect(replay.body.errors?.map((error) => error.path)).toEqual([['createTransfer', 'fromAccount', 'createdAt']]);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  });

  it("the only root field's own refusal keeps its status; with two root fields it is 200", async () => {
    const ledger = await newLedger();
    const own = await ledger.post(
      'mutation($from: ID!, $to: ID!) { createTransfer(input: { fromAccountId: $from, toAccountId: $to, amount: "5000", currency: "EUR" }, idempotencyKey: "too-much") { id } }',
      { from: ledger.alice, to: ledger.bob },
    );
    expect(own.status).toBe(422);
    expect(codes(own)).toEqual(['INSUFFICIENT_FUNDS']);

    const before = await ledger.ledgerState();
    const two = await ledger.post(
      `mutation($from: ID!, $to: ID!) {
        ok: createTransfer(input: { fromAccountId: $from, toAccountId: $to, amount: "10", currency: "EUR" }, idempotencyKey: "${randomUUID()}") { id }
        no: createTransfer(input: { fromAccountId: $from, toAccountId: $to, amount: "5000", currency: "EUR" }, idempotencyKey: "${randomUUID()}") { id }
      }`,
      { from: ledger.alice, to: ledger.bob },
    );
    expect(two.status).toBe(200);
    expect(codes(two)).toEqual(['INSUFFICIENT_FUNDS']);
    expect(two.body.data?.ok).toEqual({ id: expect.any(String) });
    expect((await ledger.ledgerState()).transfers).toBe(before.transfers + 1);
  });

  it('a query with two root fields and one error is 200', async () => {
    const ledger = await newLedger();
    await server.redis.hset(ledger.keys.account(ledger.bob), 'createdAt', 'not-a-time');
    const response = await ledger.post('query($id: ID!) { viewer { tenant { id } } account(id: $id) { id createdAt } }', { id: ledger.bob });
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ viewer: { tenant: { id: ledger.tenantId } }, account: null });
    expect(response.body.errors).toHaveLength(1);
  });
});

describe('text is stored as acknowledged, or refused', () => {
  // JSON.stringify writes a lone surrogate as the escape "\ud800", as a client's JSON would.
  const lone = ['\ud800', 'a\udc00b', 'end\ud83d'];
  const control = ['a\u0000b', 'two\nlines', '\u001b[31mred', 'tab\there', 'del\u007f', 'c1\u0085'];

  it.each([...lone, ...control].map((text) => [JSON.stringify(text), text]))('account name %s: 400, no account', async (_shown, name) => {
    const ledger = await newLedger();
    const before = await ledger.ledgerState();
    const key = randomUUID();
    const response = await ledger.post('mutation($name: String!, $key: String) { createAccount(input: { name: $name, currency: "EUR" }, idempotencyKey: $key) { id name } }', { name, key });
    await expectRefusedBeforeExecution(ledger, response, key, before);
    expect(response.body.errors?.[0]?.extensions?.field).toBe('name');
  });

  it.each([...lone, 'line\nbreak', '\u0000'].map((text) => [JSON.stringify(text), text]))('transfer reference %s: 400, no transfer', async (_shown, reference) => {
    const ledger = await newLedger();
    const before = await ledger.ledgerState();
    const key = randomUUID();
    const response = await ledger.client.transfer(ledger.alice, ledger.bob, '10', 'EUR', reference, key);
    await expectRefusedBeforeExecution(ledger, response, key, before);
    expect(response.body.errors?.[0]?.extensions?.field).toBe('reference');
  });

  it.each([...lone, 'bell\u0007'].map((text) => [JSON.stringify(text), text]))('api key name %s: 400, no key', async (_shown, name) => {
    const ledger = await newLedger();
    const before = await ledger.ledgerState();
    const key = randomUUID();
    const response = await ledger.post('mutation($name: String!, $key: String) { createApiKey(input: { name: $name, scopes: [READ] }, idempotencyKey: $key) { apiKey { id } } }', { name, key });
    await expectRefusedBeforeExecution(ledger, response, key, before);
  });

  it('well-formed text outside ASCII, surrogate pairs included, reads back exactly as sent', async () => {
    const ledger = await newLedger();
    const name = 'Zoë 🐳 帳戶 👨\u200d👩';
    const reference = 'café ☕ 😀';
    const account = await ledger.post('mutation($name: String!) { createAccount(input: { name: $name, currency: "EUR" }) { id name } }', { name });
    expect(account.status).toBe(200);
    const id = (account.body.data?.createAccount as { id: string }).id;
    const transfer = await ledger.client.transfer(ledger.alice, id, '1', 'EUR', reference);
    expect(transfer.status).toBe(200);
    const read = await ledger.post('query($id: ID!) { account(id: $id) { name transfers { edges { node { reference } } } } }', { id });
    expect(read.body.data).toEqual({ account: { name, transfers: { edges: [{ node: { reference } }] } } });
  });
});

describe('variable errors are a plain, bounded 400', () => {
  function withUnknownFields(count: number, name: (i: number) => string, value: (i: number) => unknown) {
    const input: Record<string, unknown> = { name: 'X', currency: 'EUR' };
    for (let i = 0; i < count; i++) input[name(i)] = value(i);
    return input;
  }

  async function postVariables(ledger: Ledger, input: Record<string, unknown>) {
    const logged = server.logger.lines.length;
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...ledger.client.headers },
      body: JSON.stringify({ query: 'mutation($input: CreateAccountInput!) { createAccount(input: $input) { id } }', variables: { input } }),
    });
    const text = await response.text();
    const errorLines = server.logger.lines.slice(logged).filter((line) => line.level === 'error' || line.level === 'fatal');
    return { status: response.status, text, body: JSON.parse(text) as { errors: { message: string; extensions: { code: string } }[] }, errorLines };
  }

  it('45 unknown input fields reach coercion: one BAD_USER_INPUT error that does not print the input, no error-level log line', async () => {
    const ledger = await newLedger();
    const before = await ledger.ledgerState();
    const response = await postVariables(ledger, withUnknownFields(45, (i) => `unknownField${i}`, (i) => `value-${i}-${'x'.repeat(20)}`));
    expect(response.status).toBe(400);
    expect(response.text.length).toBeLessThan(1_000);
    expect(response.body.errors.map((error) => error.extensions.code)).toEqual(['BAD_USER_INPUT']);
    expect(response.body.errors[0]?.message).toMatch(/^Variable "\$input" got an invalid value; Field "unknownField0" is not defined by type "CreateAccountInput"\. \(and at least \d+ more problems with the variables\)$/);
    expect(response.text).not.toContain('value-0-');
    expect(response.errorLines).toEqual([]);
    expect(await ledger.ledgerState()).toEqual(before);
  });

  it('60 unknown input fields: a plain 400 with one small error, no error-level log line, nothing written', async () => {
    const ledger = await newLedger();
    const before = await ledger.ledgerState();
    const response = await postVariables(ledger, withUnknownFields(60, (i) => `unknownField${i}`, (i) => `value-${i}`));
    expect(response.status).toBe(400);
    expect(response.text.length).toBeLessThan(1_000);
    // Over the variables' key bound the admit step refuses it before coercion (QUERY_TOO_COMPLEX);
    // either way it is one client error, never a masked 500.
    expect(response.body.errors).toHaveLength(1);
    expect(['BAD_USER_INPUT', 'QUERY_TOO_COMPLEX']).toContain(response.body.errors[0]?.extensions.code);
    expect(response.text).not.toContain('value-0');
    expect(response.errorLines).toEqual([]);
    expect(await ledger.ledgerState()).toEqual(before);
  });

  it('60 unknown fields written in the document: at most 20 errors, the rest counted', async () => {
    const ledger = await newLedger();
    const fields = Array.from({ length: 60 }, (_, i) => `f${i}: 1`).join(', ');
    const response = await ledger.post(`mutation { createAccount(input: { name: "X", currency: "EUR", ${fields} }) { id } }`);
    expect(response.status).toBe(400);
    expect(response.body.errors).toHaveLength(20);
    expect(new Set(codes(response))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
    expect(response.body.extensions?.errorsOmitted).toBe(40);
  });

  it('a huge value where a scalar is expected is not printed back', async () => {
    const ledger = await newLedger();
    const response = await ledger.post('query($first: Int) { accounts(first: $first) { edges { cursor } } }', { first: 'x'.repeat(1_900) });
    expect(response.status).toBe(400);
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.body.errors?.[0]?.message).toBe('Variable "$first" got an invalid value; Int cannot represent non-integer value.');
  });

  it('20,000 unknown fields get a bounded answer, and a normal client is served meanwhile', async () => {
    const ledger = await newLedger();
    const logged = server.logger.lines.length;
    const body = JSON.stringify({ query: 'mutation($input: CreateAccountInput!) { createAccount(input: $input) { id } }', variables: { input: withUnknownFields(20_000, (i) => `u${i}`, () => 1) } });
    expect(body.length).toBeGreaterThan(150_000);
    const [response, normal] = await Promise.all([
      fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', ...ledger.client.headers }, body }),
      ledger.post('{ viewer { tenant { id } } }'),
    ]);
    const text = await response.text();
    // The door may refuse it before Apollo (413); if it gets to Apollo it is a plain 400.
    expect([400, 413]).toContain(response.status);
    expect(text.length).toBeLessThan(2_000);
    expect(normal.status).toBe(200);
    expect(server.logger.lines.slice(logged).filter((line) => line.level === 'error' || line.level === 'fatal')).toEqual([]);
  });
});
