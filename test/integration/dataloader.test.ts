import { TransfersWithAccountNamesDocument } from '../generated/graphql';
import { ledgerClient } from '../helpers/ledger';
import { commandNames, watchTenantCommands } from '../helpers/monitor';
import { gql, startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.stop();
});

describe('per-request DataLoaders', () => {
  it('load the accounts of 20 listed transfers with one batched command', async () => {
    const { tenantId, apiKey } = await server.newTenant();
    const client = ledgerClient(server.url, apiKey);
    const funding = await client.account('Funding', 'EUR', true);
    const others = [await client.account('Alice'), await client.account('Bob'), await client.account('Carol')];
    for (let i = 0; i < 20; i++) await client.transfer(funding, others[i % 3] as string, String(i + 1));

    const watch = await watchTenantCommands(tenantId);
    await watch.take();
    const response = await gql(server.url, TransfersWithAccountNamesDocument, { first: 20 }, client.headers);
    const commands = await watch.take();
    watch.stop();

    const edges = response.body.data?.transfers.edges ?? [];
    expect(edges).toHaveLength(20);
    expect(edges.every((edge) => edge.node.fromAccount.name === 'Funding')).toBe(true);
    expect(edges.map((edge) => edge.node.toAccount.name).slice(0, 3)).toEqual(['Alice', 'Bob', 'Carol']);

    const accountKey = new RegExp(`^oq:\\{t:${tenantId}\\}:account:[a-z0-9]+$`);
    const accountLoads = commands.filter((args) => args.some((arg) => accountKey.test(arg)));
    expect(accountLoads).toHaveLength(1);
    // One command naming the four distinct accounts, each once.
    expect(accountLoads[0]?.filter((arg) => accountKey.test(arg)).sort()).toEqual([funding, ...others].map((id) => `oq:{t:${tenantId}}:account:${id}`).sort());
    // In all: the admit script, the index page, one transfer batch, one account batch.
    expect(commandNames(commands)).toEqual(['evalsha', 'zrangebyscore', 'evalsha', 'evalsha']);
  });

  // The bench's query (bench/operations.ts ACCOUNT_QUERY): an account, a page of 20 of its
  // transfers and each one's two accounts. Their answers are compared with those of a query that
  // reads the same accounts one by one, so the page's accounts (loaded with the page) are the
  // loader's own rows.
  const ACCOUNT_PAGE = `query Account($id: ID!, $skipAccounts: Boolean = false) {
    account(id: $id) {
      id name balance
      transfers(first: 20) {
        edges { cursor node { id amount currency createdAt ...Names @skip(if: $skipAccounts) } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
  fragment Names on Transfer { from: fromAccount { name balance } toAccount { name } }`;

  it('answer an account with a page of 20 transfers and their accounts in 4 commands: the account and its page of ids in one, the accounts in one batch', async () => {
    const { tenantId, apiKey } = await server.newTenant();
    const client = ledgerClient(server.url, apiKey);
    const funding = await client.account('Funding', 'EUR', true);
    const others = [await client.account('Alice'), await client.account('Bob'), await client.account('Carol')];
    for (let i = 0; i < 21; i++) await client.transfer(funding, others[i % 3] as string, String(i + 1));

    const watch = await watchTenantCommands(tenantId);
    await watch.take();
    const response = await gql(server.url, ACCOUNT_PAGE, { id: funding }, client.headers);
    const commands = await watch.take();
    watch.stop();

    type Page = { account: { balance: string; transfers: { edges: { node: { amount: string; from: { name: string; balance: string }; toAccount: { name: string } } }[]; pageInfo: { hasNextPage: boolean } } } };
    const account = (response.body.data as Page | undefined)?.account;
    expect(response.body.errors).toBeUndefined();
    expect(account?.balance).toBe(String(-((21 * 22) / 2)));
    expect(account?.transfers.pageInfo.hasNextPage).toBe(true);
    expect(account?.transfers.edges.map(({ node }) => [node.amount, node.from.name, node.from.balance, node.toAccount.name])).toEqual(
      Array.from({ length: 20 }, (_, i) => [String(i + 1), 'Funding', String(-((21 * 22) / 2)), ['Alice', 'Bob', 'Carol'][i % 3]]),
    );
    // The admit script; the account with its page of ids (one script, both keys declared); the 20
    // transfers; the 3 other accounts in one batch.
    expect(commandNames(commands)).toEqual(['evalsha', 'evalsha', 'evalsha', 'evalsha']);
    const accountAndPage = [`oq:{t:${tenantId}}:account:${funding}`, `oq:{t:${tenantId}}:account:${funding}:transfers`];
    expect(commands[1]?.slice(2, 5)).toEqual(['2', ...accountAndPage]);
    const accountKey = new RegExp(`^oq:\\{t:${tenantId}\\}:account:[a-z0-9]+$`);
    expect(commands[3]?.filter((arg) => accountKey.test(arg)).sort()).toEqual(others.map((id) => `oq:{t:${tenantId}}:account:${id}`).sort());

    // Accounts left out by @skip are not loaded: no command for them.
    const watchSkipped = await watchTenantCommands(tenantId);
    await watchSkipped.take();
    const skipped = await gql(server.url, ACCOUNT_PAGE, { id: funding, skipAccounts: true }, client.headers);
    const skippedCommands = await watchSkipped.take();
    watchSkipped.stop();
    expect(skipped.body.errors).toBeUndefined();
    expect((skipped.body.data as Page | undefined)?.account.transfers.edges[0]?.node).toEqual({ id: expect.any(String), amount: '1', currency: 'EUR', createdAt: expect.any(String) });
    // (A refund of the unused cost estimate may follow: it names no account.)
    expect(commandNames(skippedCommands).slice(0, 3)).toEqual(['evalsha', 'evalsha', 'evalsha']);
    expect(skippedCommands[1]?.slice(2, 5)).toEqual(['2', ...accountAndPage]);
    expect(skippedCommands.filter((args) => args.some((arg) => accountKey.test(arg))).map((args) => args.filter((arg) => accountKey.test(arg)))).toEqual([[`oq:{t:${tenantId}}:account:${funding}`]]);
  });

  const PAGE_AFTER = `query Page($id: ID!, $after: String, $first: Int) {
    account(id: $id) { balance transfers(first: $first, after: $after) { edges { cursor node { id amount toAccount { name } } } pageInfo { hasNextPage endCursor } } }
    transfers(accountId: $id, first: $first, after: $after) { edges { cursor node { id amount toAccount { name } } } pageInfo { hasNextPage endCursor } }
  }`;
  type PageAfter = {
    account: { balance: string; transfers: { edges: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } } | null;
    transfers: { edges: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
  };

  it('answer an account page read with the account exactly as the list of its transfers read on its own', async () => {
    const { tenantId, apiKey } = await server.newTenant();
    const client = ledgerClient(server.url, apiKey);
    const funding = await client.account('Funding', 'EUR', true);
    const alice = await client.account('Alice');
    const bob = await client.account('Bob');
    for (let i = 0; i < 7; i++) await client.transfer(funding, i % 2 === 0 ? alice : bob, String(i + 1));
    await client.transfer(alice, bob, '1');

    // Page after page, the account's `transfers` (read with the account) equal the root
    // `transfers(accountId:)` (listed on its own), cursors and pageInfo included.
    let after: string | null = null;
    const seen: unknown[] = [];
    for (let pages = 0; pages < 4; pages++) {
      const response = await gql(server.url, PAGE_AFTER, { id: funding, after, first: 3 }, client.headers);
      expect(response.body.errors).toBeUndefined();
      const data = response.body.data as PageAfter;
      expect(data.account?.balance).toBe('-28');
      expect(data.account?.transfers).toEqual(data.transfers);
      seen.push(...data.transfers.edges);
      if (!data.transfers.pageInfo.hasNextPage) break;
      after = data.transfers.pageInfo.endCursor;
    }
    expect(seen).toHaveLength(7);

    // Arguments the field refuses are refused as before, and by the field.
    const refused = await gql(server.url, PAGE_AFTER, { id: funding, after: 'not-a-cursor', first: 3 }, client.headers);
    expect(refused.body.errors?.map((error) => error.extensions?.code)).toContain('BAD_USER_INPUT');

    const watch = await watchTenantCommands(tenantId);
    try {
      // An account that does not exist: null, one script and no page; an id that cannot exist: null, no command for it.
      await watch.take();
      const missing = await gql(server.url, PAGE_AFTER, { id: 'zzzzzzzzzzzzzzzz', first: 3 }, client.headers);
      expect((missing.body.data as PageAfter).account).toBeNull();
      const missingKey = `oq:{t:${tenantId}}:account:zzzzzzzzzzzzzzzz`;
      expect((await watch.take()).filter((args) => args.includes(missingKey)).map((args) => args.slice(2, 5))).toEqual([['2', missingKey, `${missingKey}:transfers`]]);
      const malformed = await gql(server.url, '{ account(id: "NOT-AN-ID") { transfers { edges { cursor } } } }', {}, client.headers);
      expect(malformed.body).toMatchObject({ data: { account: null } });
      // (The admit script, and a refund of the unused cost estimate: neither names an account.)
      expect((await watch.take()).filter((args) => args.some((arg) => arg.includes(':account:')))).toEqual([]);

      // The same account asked twice in one request, once without its transfers: one row for both
      // (the loader's), and the page listed on its own.
      const twice = await gql(server.url, 'query Twice($id: ID!) { a: account(id: $id) { balance } b: account(id: $id) { balance transfers(first: 2) { edges { cursor } } } }', { id: funding }, client.headers);
      expect(twice.body.errors).toBeUndefined();
      expect(twice.body.data).toMatchObject({ a: { balance: '-28' }, b: { balance: '-28', transfers: { edges: [expect.anything(), expect.anything()] } } });
      const twiceCommands = await watch.take();
      expect(commandNames(twiceCommands).slice(0, 3)).toEqual(['evalsha', 'evalsha', 'zrangebyscore']);
      expect(twiceCommands.filter((args) => args.includes(`oq:{t:${tenantId}}:account:${funding}`)).map((args) => args.slice(2, 4))).toEqual([['1', `oq:{t:${tenantId}}:account:${funding}`]]);
    } finally {
      watch.stop();
    }
  });
});
