import { randomUUID } from 'node:crypto';
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache } from '@apollo/client';
import { RetryLink } from '@apollo/client/link/retry';
import { createClient } from '@onceql/client';
import type { RetryEvent } from '@onceql/client';
import { createIdempotencyLink, createRetryLink, retryPolicy } from '@onceql/client/apollo';
import { parse } from 'graphql';
import { ledgerClient } from '../helpers/ledger';
import { startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';
import { seededRandom, startFaultProxy } from './fault-proxy';
import type { FaultProxy } from './fault-proxy';
import { inParallel, ledgerTruth } from './ledger-truth';

// Clients that cannot double-spend, over real HTTP: a loopback proxy loses 20 % of the answers to
// createTransfer after the server has run it. Whatever the client (Apollo Client 4 with RetryLink
// before or after the idempotency link, or the fetch client), every transfer lands exactly once:
// one key per transfer, the lost answers come back as replays, balances are exact.

/** Transfers per scenario. CI runs all of them (about 900 transfers in all, a few seconds). */
const TRANSFERS = 300;
const CONCURRENCY = 8;
/** Enough attempts that 20 % losses cannot exhaust them (0.2^12 per transfer). */
const FAST_RETRY = { maxAttempts: 12, initialDelayMs: 10, maxDelayMs: 200 };

const SEND = parse('mutation Send($input: CreateTransferInput!) { createTransfer(input: $input) { id amount reference } }');
const VIEWER = parse('query Who { viewer { tenant { id } } }');

let server: TestServer;
let proxy: FaultProxy;

beforeAll(async () => {
  server = await startTestServer();
  proxy = await startFaultProxy(server.origin);
});
afterAll(async () => {
  await proxy.close();
  await server.stop();
});

interface Ledger {
  readonly apiKey: string;
  readonly funding: string;
  readonly targets: string[];
  input(i: number): { fromAccountId: string; toAccountId: string; amount: string; currency: string; reference: string };
}

async function newLedger(): Promise<Ledger> {
  const { apiKey } = await server.newTenant();
  const ledger = ledgerClient(server.url, apiKey);
  const funding = await ledger.account('Funding', 'EUR', true);
  const targets = [await ledger.account('A'), await ledger.account('B'), await ledger.account('C')];
  return {
    apiKey,
    funding,
    targets,
    input: (i) => ({ fromAccountId: funding, toAccountId: targets[i % 3] as string, amount: String((i % 97) + 1), currency: 'EUR', reference: `r${i}` }),
  };
}

/** Loses 20 % of createTransfer answers, from a fixed seed. */
function loseTransfers(seed: number): void {
  const random = seededRandom(seed);
  proxy.setDrop((body) => body.includes('createTransfer') && random() < 0.2);
}

/** The ledger after `count` transfers sent with `keys`, whose answers were lost `drops` times. */
async function expectExactlyOnce(ledger: Ledger, count: number, keys: readonly string[], drops: number): Promise<Map<string, number>> {
  const truth = await ledgerTruth(server.url, ledger.apiKey, ledger.funding, [ledger.funding, ...ledger.targets], keys);
  // Exactly `count` transfers, each reference once.
  expect(truth.references).toHaveLength(count);
  expect(new Set(truth.references).size).toBe(count);
  expect([...truth.references].sort()).toEqual(Array.from({ length: count }, (_, i) => `r${i}`).sort());
  // One key per transfer, each known to the server, and every lost answer came back as a replay.
  expect(keys).toHaveLength(count);
  expect(new Set(keys).size).toBe(count);
  expect([...truth.replays.values()].filter((replays) => replays < 0)).toEqual([]);
  expect([...truth.replays.values()].reduce((sum, replays) => sum + replays, 0)).toBe(drops);
  // Balances to the unit.
  const expected = new Map<string, bigint>(ledger.targets.map((id) => [id, 0n]));
  let total = 0n;
  for (let i = 0; i < count; i++) {
    const { toAccountId, amount } = ledger.input(i);
    expected.set(toAccountId, (expected.get(toAccountId) ?? 0n) + BigInt(amount));
    total += BigInt(amount);
  }
  expect(Object.fromEntries(truth.balances)).toEqual(Object.fromEntries([[ledger.funding, -total], ...expected]));
  return truth.replays;
}

describe('Apollo Client 4 + RetryLink + createIdempotencyLink, through a proxy that loses 20 % of answers', () => {
  it.each([
    ['idempotency link before RetryLink', 'before', 1],
    ['idempotency link after RetryLink (each retry passes through it)', 'after', 2],
  ] as const)('%s: exactly one transfer per mutate', async (_name, order, seed) => {
    const ledger = await newLedger();
    const minted: string[] = [];
    const idempotency = createIdempotencyLink({ newKey: () => (minted.push(randomUUID()), minted[minted.length - 1] as string) });
    const retry = new RetryLink(retryPolicy(FAST_RETRY));
    const http = new HttpLink({ uri: proxy.url, headers: { 'api-key': ledger.apiKey } });
    const client = new ApolloClient({ link: ApolloLink.from(order === 'before' ? [idempotency, retry, http] : [retry, idempotency, http]), cache: new InMemoryCache() });
    loseTransfers(seed);
    const dropsBefore = proxy.dropped();
    await inParallel(TRANSFERS, CONCURRENCY, async (i) => {
      const result = await client.mutate({ mutation: SEND, variables: { input: ledger.input(i) } });
      expect((result.data as { createTransfer: { reference: string } }).createTransfer.reference).toBe(`r${i}`);
    });
    const drops = proxy.dropped() - dropsBefore;
    proxy.setDrop(() => false);
    expect(drops).toBeGreaterThan(TRANSFERS / 10);
    await expectExactlyOnce(ledger, TRANSFERS, minted, drops);
  });

  it("keeps a key the caller passed in the context, and onceql's own retry link retries lost answers too", async () => {
    const ledger = await newLedger();
    const http = new HttpLink({ uri: proxy.url, headers: { 'api-key': ledger.apiKey } });
    const client = new ApolloClient({ link: ApolloLink.from([createRetryLink(FAST_RETRY), createIdempotencyLink(), http]), cache: new InMemoryCache() });
    loseTransfers(3);
    const dropsBefore = proxy.dropped();
    const keys = Array.from({ length: 50 }, () => randomUUID());
    await inParallel(50, CONCURRENCY, async (i) => {
      await client.mutate({ mutation: SEND, variables: { input: ledger.input(i) }, context: { idempotencyKey: keys[i] } });
    });
    // The same key again (a second click): the server replays, nothing moves.
    await client.mutate({ mutation: SEND, variables: { input: ledger.input(0) }, context: { idempotencyKey: keys[0] } });
    const drops = proxy.dropped() - dropsBefore;
    proxy.setDrop(() => false);
    await expectExactlyOnce(ledger, 50, keys, drops + 1);
  });
});

describe('the control: the bug the link prevents', () => {
  it('a link that mints a key on every pass, after RetryLink, double-spends through the same proxy', async () => {
    const ledger = await newLedger();
    // What the issue found: each retry passes through the link and gets a new key.
    const naive = new ApolloLink((operation, forward) => {
      operation.setContext(({ headers }: { headers?: Record<string, string> }) => ({ headers: { ...headers, 'idempotency-key': randomUUID() } }));
      return forward(operation);
    });
    const http = new HttpLink({ uri: proxy.url, headers: { 'api-key': ledger.apiKey } });
    const client = new ApolloClient({ link: ApolloLink.from([new RetryLink(retryPolicy(FAST_RETRY)), naive, http]), cache: new InMemoryCache() });
    loseTransfers(5);
    const dropsBefore = proxy.dropped();
    await inParallel(50, CONCURRENCY, async (i) => void (await client.mutate({ mutation: SEND, variables: { input: ledger.input(i) } })));
    const drops = proxy.dropped() - dropsBefore;
    proxy.setDrop(() => false);
    const truth = await ledgerTruth(server.url, ledger.apiKey, ledger.funding, [], []);
    expect(drops).toBeGreaterThan(0);
    expect(truth.references).toHaveLength(50 + drops);
  });
});

describe('createClient through the same proxy', () => {
  it('makes exactly one transfer per request, and says which answers were replays and after how many attempts', async () => {
    const ledger = await newLedger();
    const client = createClient({ url: proxy.url, apiKey: ledger.apiKey, retry: FAST_RETRY });
    loseTransfers(4);
    const dropsBefore = proxy.dropped();
    const results: { key: string; attempts: number; replayed: boolean }[] = [];
    await inParallel(TRANSFERS, CONCURRENCY, async (i) => {
      const result = await client.request<{ createTransfer: { reference: string } }>(SEND, { input: ledger.input(i) });
      expect([result.status, result.data?.createTransfer.reference]).toEqual([200, `r${i}`]);
      results.push({ key: result.idempotencyKey as string, attempts: result.attempts, replayed: result.replayed });
    });
    const drops = proxy.dropped() - dropsBefore;
    proxy.setDrop(() => false);
    expect(drops).toBeGreaterThan(TRANSFERS / 10);
    const replays = await expectExactlyOnce(
      ledger,
      TRANSFERS,
      results.map((result) => result.key),
      drops,
    );
    // Each lost answer cost one attempt; an answer is a replay exactly when an earlier one was lost.
    expect(results.reduce((sum, result) => sum + result.attempts - 1, 0)).toBe(drops);
    for (const result of results) expect([result.key, result.replayed, result.attempts - 1]).toEqual([result.key, (replays.get(result.key) ?? 0) > 0, replays.get(result.key)]);
  });
});

describe('what is never retried, and what waits', () => {
  it('tries a 401 once, and its code reaches the caller (fetch client, Apollo with either retry link)', async () => {
    const before = proxy.forwarded();
    const refused = await createClient({ url: proxy.url, apiKey: 'oq_wrong', retry: FAST_RETRY }).request(VIEWER);
    expect([refused.status, refused.code, refused.attempts]).toEqual([401, 'UNAUTHENTICATED', 1]);
    expect(proxy.forwarded() - before).toBe(1);
    for (const retry of [createRetryLink(FAST_RETRY), new RetryLink(retryPolicy(FAST_RETRY))]) {
      const start = proxy.forwarded();
      const client = new ApolloClient({ link: ApolloLink.from([retry, createIdempotencyLink(), new HttpLink({ uri: proxy.url })]), cache: new InMemoryCache() });
      const error = await client.query({ query: VIEWER, fetchPolicy: 'no-cache' }).then(
        (result) => result.error,
        (thrown: unknown) => thrown,
      );
      expect(CombinedGraphQLErrors.is(error) ? error.errors[0]?.extensions?.code : error).toBe('UNAUTHENTICATED');
      expect(proxy.forwarded() - start).toBe(1);
    }
  });

  it('waits at least Retry-After after a 429, then gets through (fetch client and Apollo)', async () => {
    const slow = await startTestServer({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '1' });
    const slowProxy = await startFaultProxy(slow.origin);
    try {
      const { apiKey } = await slow.newTenant();
      const waits: RetryEvent[] = [];
      // A tiny back-off: any wait of a second or more can only come from the server's Retry-After.
      const retry = { maxAttempts: 5, initialDelayMs: 1, maxDelayMs: 1, onRetry: (event: RetryEvent) => void waits.push(event) };
      const client = createClient({ url: slowProxy.url, apiKey, retry });
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await client.request(VIEWER));
      const apollo = new ApolloClient({ link: ApolloLink.from([createRetryLink(retry), new HttpLink({ uri: slowProxy.url, headers: { 'api-key': apiKey } })]), cache: new InMemoryCache() });
      for (let i = 0; i < 3; i++) expect((await apollo.query({ query: VIEWER, fetchPolicy: 'no-cache' })).error).toBeUndefined();

      expect(results.map((result) => result.status)).toEqual([200, 200, 200, 200]);
      expect(results.some((result) => result.attempts >= 2)).toBe(true);
      const refusals = slowProxy.answers.filter((answer) => answer.status === 429);
      expect(refusals.length).toBeGreaterThan(0);
      // Every 429 was retried once, after at least its Retry-After; nothing else was retried.
      expect(waits).toHaveLength(refusals.length);
      waits.forEach((wait, i) => {
        const retryAfterSeconds = Number(refusals[i]?.retryAfter);
        expect(retryAfterSeconds).toBeGreaterThanOrEqual(1);
        expect(wait.outcome).toMatchObject({ kind: 'answer', status: 429, codes: ['RATE_LIMITED'] });
        expect(wait.delayMs).toBeGreaterThanOrEqual(retryAfterSeconds * 1000);
      });
      expect(slowProxy.forwarded()).toBe(7 + refusals.length);
    } finally {
      await slowProxy.close();
      await slow.stop();
    }
  });
});
