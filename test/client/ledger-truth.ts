import { gql } from '../helpers/server';
import type { GraphQLResponse } from '../helpers/server';

interface TransfersPage {
  transfers: { edges: { node: { reference: string | null } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

/**
 * What the ledger holds, read straight from the server (never through the fault proxy): the
 * transfers out of one account, the balances of some accounts, and how often each key was replayed.
 */
export interface LedgerTruth {
  /** The reference of every transfer out of the account, in order. */
  readonly references: string[];
  readonly balances: Map<string, bigint>;
  /** replayCount of each key (-1: the server has no record of it). */
  readonly replays: Map<string, number>;
}

export async function ledgerTruth(url: string, apiKey: string, fromAccountId: string, accountIds: readonly string[], keys: readonly string[]): Promise<LedgerTruth> {
  const headers = { 'api-key': apiKey };
  const references: string[] = [];
  let after: string | null = null;
  for (let page = 0; page < 100; page++) {
    const answer: GraphQLResponse<TransfersPage> = await gql<TransfersPage>(
      url,
      'query($id: ID, $after: String) { transfers(accountId: $id, first: 100, after: $after) { edges { node { reference } } pageInfo { hasNextPage endCursor } } }',
      { id: fromAccountId, after },
      headers,
    );
    const transfers: TransfersPage['transfers'] | undefined = answer.body.data?.transfers;
    if (transfers === undefined) throw new Error(`transfers: ${JSON.stringify(answer.body)}`);
    references.push(...transfers.edges.map((edge) => edge.node.reference ?? ''));
    if (!transfers.pageInfo.hasNextPage) break;
    after = transfers.pageInfo.endCursor;
  }
  const balances = new Map<string, bigint>();
  for (const id of accountIds) {
    const answer = await gql<{ account: { balance: string } | null }>(url, 'query($id: ID!) { account(id: $id) { balance } }', { id }, headers);
    balances.set(id, BigInt(answer.body.data?.account?.balance ?? 'NaN'));
  }
  const replays = new Map<string, number>();
  for (let i = 0; i < keys.length; i += 25) {
    const batch = keys.slice(i, i + 25);
    const fields = batch.map((key, j) => `k${j}: idempotencyRecord(key: ${JSON.stringify(key)}) { replayCount }`).join('\n');
    const answer = await gql<Record<string, { replayCount: number } | null>>(url, `{ ${fields} }`, {}, headers);
    if (answer.body.data === undefined || answer.body.data === null) throw new Error(`idempotencyRecord: ${JSON.stringify(answer.body).slice(0, 500)}`);
    batch.forEach((key, j) => replays.set(key, answer.body.data?.[`k${j}`]?.replayCount ?? -1));
  }
  return { references, balances, replays };
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once. */
export async function inParallel(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++);
    }),
  );
}
