import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { RedisClient } from '../../src/redis/client';
import { ledgerClient } from '../helpers/ledger';
import { startRedisProcess } from '../helpers/redis-process';
import type { RedisProcess } from '../helpers/redis-process';
import { codes, connectTestRedis, gql, startTestServer } from '../helpers/server';
import type { GraphQLResponse, TestServer } from '../helpers/server';

// Issue 9, "Done when": random operations over real HTTP and a real Redis — valid and invalid
// transfers, invalid nested arguments, replays of earlier requests, reuse of earlier keys, and
// stalls of Redis past the command timeout — keep two promises:
//   1. whenever an answer's status is 4xx, no money moved for it;
//   2. a retry (same key, same request) gets the same answer — status, codes, transfer id and
//      amount — as the first definitive one (definitive: no 503-class error in it).
// Stalls use CLIENT PAUSE on a redis-server of this suite's own.

const COMMAND_TIMEOUT_MS = 150;
const STALL_MS = 400;

let redis: RedisProcess;
let server: TestServer;
let control: RedisClient;

beforeAll(async () => {
  redis = await startRedisProcess();
  server = await startTestServer({ REDIS_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS) }, redis.url);
  control = await connectTestRedis(redis.url);
});
afterAll(async () => {
  control.disconnect();
  await server.stop();
  await redis.stop();
});

/** Where a transfer's account ids point: the ledger's accounts, or ids that name nothing. */
const ENDPOINTS = ['funding', 'alice', 'bob', 'dollars', 'unknown', 'malformed'] as const;
type Endpoint = (typeof ENDPOINTS)[number];

/** What is selected under `toAccount`: nothing more, a valid page, or arguments that must be refused. */
const NESTED = {
  none: '',
  valid: 'transfers(first: 1) { edges { node { id } } }',
  zero: 'transfers(first: 0) { edges { node { id } } }',
  over: 'transfers(first: 101) { edges { node { id } } }',
  cursor: 'transfers(first: 1, after: "not-a-cursor") { edges { node { id } } }',
} as const;
type Nested = keyof typeof NESTED;

interface TransferSpec {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly amount: string;
  readonly nested: Nested;
}

type Op =
  | { readonly kind: 'transfer'; readonly spec: TransferSpec }
  | { readonly kind: 'retry'; readonly pick: number }
  | { readonly kind: 'reuse'; readonly pick: number; readonly spec: TransferSpec }
  | { readonly kind: 'stall'; readonly specs: readonly TransferSpec[] };

const endpoint = fc.constantFrom<Endpoint>(...ENDPOINTS);
const transferSpec: fc.Arbitrary<TransferSpec> = fc.record({
  from: fc.oneof({ weight: 3, arbitrary: fc.constant<Endpoint>('funding') }, endpoint),
  to: fc.oneof({ weight: 3, arbitrary: fc.constantFrom<Endpoint>('alice', 'bob') }, endpoint),
  amount: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 300 }).map(String) }, fc.constantFrom('0', '-5', '100000')),
  nested: fc.oneof({ weight: 3, arbitrary: fc.constantFrom<Nested>('none', 'valid') }, fc.constantFrom<Nested>('zero', 'over', 'cursor')),
});
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: transferSpec.map((spec) => ({ kind: 'transfer' as const, spec })) },
  { weight: 4, arbitrary: fc.nat().map((pick) => ({ kind: 'retry' as const, pick })) },
  { weight: 2, arbitrary: fc.tuple(fc.nat(), transferSpec).map(([pick, spec]) => ({ kind: 'reuse' as const, pick, spec })) },
  { weight: 1, arbitrary: fc.array(transferSpec, { minLength: 2, maxLength: 6 }).map((specs) => ({ kind: 'stall' as const, specs })) },
);

type Answer = GraphQLResponse<{ createTransfer?: { id: string; amount: string } | null }>;

/** What must not change between the first definitive answer to a request and its retries. */
function essence(answer: Answer) {
  return { status: answer.status, codes: codes(answer), id: answer.body.data?.createTransfer?.id ?? null, amount: answer.body.data?.createTransfer?.amount ?? null };
}

/** Definitive: nothing in it says "unavailable" or "unknown" (those are answers to retry). */
function isDefinitive(answer: Answer): boolean {
  return answer.status !== 503 && !codes(answer).some((code) => code === 'OUTCOME_UNKNOWN' || code === 'SERVICE_UNAVAILABLE');
}

interface Sent {
  readonly key: string;
  readonly spec: TransferSpec;
  /** The request's identity: key + document + variables. */
  readonly request: string;
}

async function newLedger() {
  const tenant = await server.newTenant();
  const client = ledgerClient(server.url, tenant.apiKey);
  const ids: Record<Endpoint, string> = {
    funding: await client.account('Funding', 'EUR', true),
    alice: await client.account('Alice'),
    bob: await client.account('Bob'),
    dollars: await client.account('Dollars', 'USD'),
    unknown: 'zzzzzzzzzzzzzzzz',
    malformed: 'no:such/id',
  };
  const accounts = [ids.funding, ids.alice, ids.bob, ids.dollars];

  function document(nested: Nested): string {
    return `mutation($in: CreateTransferInput!, $k: String) {
      createTransfer(input: $in, idempotencyKey: $k) { id amount fromAccount { id balance } toAccount { id balance ${NESTED[nested]} } }
    }`;
  }
  function variables(spec: TransferSpec, key: string) {
    return { in: { fromAccountId: ids[spec.from], toAccountId: ids[spec.to], amount: spec.amount, currency: 'EUR' }, k: key };
  }
  function send(key: string, spec: TransferSpec): { sent: Sent; answer: Promise<Answer> } {
    const query = document(spec.nested);
    const vars = variables(spec, key);
    return { sent: { key, spec, request: JSON.stringify([query, vars]) }, answer: gql(server.url, query, vars, client.headers) as Promise<Answer> };
  }
  /** Every account's balance, read in one query. */
  async function balances(): Promise<string[]> {
    const response = await gql(server.url, `query { accounts(first: 10) { edges { node { id balance } } } }`, {}, client.headers);
    const edges = (response.body.data as { accounts: { edges: { node: { id: string; balance: string } }[] } } | undefined)?.accounts.edges;
    if (!edges) throw new Error(`accounts: ${JSON.stringify(response.body)}`);
    const byId = new Map(edges.map((edge) => [edge.node.id, edge.node.balance]));
    return accounts.map((id) => byId.get(id) ?? 'missing');
  }
  async function record(key: string) {
    const response = await gql(server.url, 'query($k: String!) { idempotencyRecord(key: $k) { outcome resourceId } }', { k: key }, client.headers);
    return (response.body.data as { idempotencyRecord: { outcome: string | null; resourceId: string | null } | null }).idempotencyRecord;
  }
  return { ids, accounts, send, balances, record };
}

describe('what a client is told matches what happened (property)', () => {
  it('4xx never moves money; a retry gets the first definitive answer', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 4, maxLength: 14 }), async (ops) => {
        const ledger = await newLedger();
        const history: Sent[] = [];
        const firstDefinitive = new Map<string, ReturnType<typeof essence>>();
        const lastAnswer = new Map<string, Answer>();

        function observe(sent: Sent, answer: Answer): void {
          lastAnswer.set(sent.request, answer);
          if (!isDefinitive(answer)) return;
          const first = firstDefinitive.get(sent.request);
          if (first === undefined) firstDefinitive.set(sent.request, essence(answer));
          // Promise 2.
          else expect(essence(answer)).toEqual(first);
        }

        /** One request at a time: promise 1 is read off the balances around it. */
        async function sequential(key: string, spec: TransferSpec): Promise<void> {
          const before = await ledger.balances();
          const { sent, answer } = ledger.send(key, spec);
          const response = await answer;
          history.push(sent);
          observe(sent, response);
          if (response.status >= 400 && response.status < 500) expect(await ledger.balances()).toEqual(before);
        }

        for (const step of ops) {
          if (step.kind === 'transfer') {
            await sequential(randomUUID(), step.spec);
          } else if (step.kind === 'retry' && history.length > 0) {
            const earlier = history[step.pick % history.length] as Sent;
            await sequential(earlier.key, earlier.spec);
          } else if (step.kind === 'reuse' && history.length > 0) {
            await sequential((history[step.pick % history.length] as Sent).key, step.spec);
          } else if (step.kind === 'stall') {
            // Fresh keys sent around a stall: some refused before sending, some sent into it.
            const inFlight = step.specs.map((spec, i) => new Promise<{ sent: Sent; answer: Answer }>((resolve) => {
              setTimeout(() => {
                const { sent, answer } = ledger.send(randomUUID(), spec);
                void answer.then((response) => resolve({ sent, answer: response }));
              }, i);
            }));
            await new Promise((resolve) => setTimeout(resolve, 3));
            await control.call('CLIENT', 'PAUSE', String(STALL_MS), 'ALL');
            const settled = await Promise.all(inFlight);
            await control.ping();
            for (const { sent, answer } of settled) {
              history.push(sent);
              observe(sent, answer);
              // Promise 1 for concurrent requests: a 4xx key made no transfer (the keys are fresh).
              if (answer.status >= 400 && answer.status < 500) expect((await ledger.record(sent.key))?.outcome ?? null).not.toBe('SUCCEEDED');
            }
          }
        }

        // Settle: retry every request whose last answer was not definitive until it is.
        for (const sent of history) {
          for (let attempt = 0; attempt < 5 && !isDefinitive(lastAnswer.get(sent.request) as Answer); attempt++) {
            observe(sent, await ledger.send(sent.key, sent.spec).answer);
          }
          expect(isDefinitive(lastAnswer.get(sent.request) as Answer)).toBe(true);
        }

        // Every key made at most one transfer, and the balances are exactly the transfers that
        // were answered 200: nothing moved that a client was told did not.
        const moved = new Map<string, { from: string; to: string; amount: bigint }>();
        const idsOfKey = new Map<string, Set<string>>();
        for (const sent of history) {
          const answer = lastAnswer.get(sent.request) as Answer;
          const id = answer.body.data?.createTransfer?.id;
          if (answer.status !== 200 || id === undefined) continue;
          idsOfKey.set(sent.key, new Set([...(idsOfKey.get(sent.key) ?? []), id]));
          const vars = JSON.parse(sent.request)[1] as { in: { fromAccountId: string; toAccountId: string; amount: string } };
          moved.set(id, { from: vars.in.fromAccountId, to: vars.in.toAccountId, amount: BigInt(vars.in.amount) });
        }
        for (const ids of idsOfKey.values()) expect(ids.size).toBe(1);
        const keysWithTransfers = new Set<string>();
        for (const sent of history) {
          const recorded = await ledger.record(sent.key);
          if (recorded?.outcome === 'SUCCEEDED') {
            expect(moved.has(recorded.resourceId as string)).toBe(true);
            keysWithTransfers.add(sent.key);
          }
        }
        expect(keysWithTransfers.size).toBe(moved.size);
        const expected = ledger.accounts.map((id) => {
          let sum = 0n;
          for (const transfer of moved.values()) sum += (transfer.to === id ? transfer.amount : 0n) - (transfer.from === id ? transfer.amount : 0n);
          return String(sum);
        });
        expect(await ledger.balances()).toEqual(expected);
      }),
      { numRuns: 12, interruptAfterTimeLimit: 90_000 },
    );
  }, 120_000);
});
