import fc from 'fast-check';
import { AuthStore } from '../../src/auth/store';
import { LedgerError } from '../../src/ledger/errors';
import { LedgerStore } from '../../src/ledger/store';
import type { AccountRecord } from '../../src/ledger/types';
import type { RedisClient } from '../../src/redis/client';
import { connectTestRedis } from '../helpers/server';

let redis: RedisClient;
let auth: AuthStore;
beforeAll(async () => {
  redis = await connectTestRedis();
  auth = new AuthStore(redis);
});
afterAll(() => redis.disconnect());

const CURRENCIES = ['EUR', 'USD'] as const;

const accountSpec = fc.record({ currency: fc.constantFrom(...CURRENCIES), allowNegativeBalance: fc.boolean() });
const transferSpec = fc.record({
  from: fc.nat(),
  to: fc.nat(),
  // Mostly small amounts so that balances build up, sometimes large ones that must be refused.
  amount: fc.oneof(fc.bigInt({ min: 1n, max: 500n }), fc.bigInt({ min: 1n, max: 9_007_199_254_740_991n })),
  // In the sequential property: sometimes move the whole balance of the source, give or take 1.
  drain: fc.option(fc.constantFrom(-1n, 0n, 1n), { freq: 3 }),
  currency: fc.constantFrom(...CURRENCIES),
});

async function freshLedger(specs: { currency: string; allowNegativeBalance: boolean }[]) {
  const tenant = await auth.createTenant('property');
  const ledger = new LedgerStore(redis, tenant.id);
  const accounts: AccountRecord[] = [];
  for (const [i, spec] of specs.entries()) accounts.push(await ledger.createAccount({ name: `account ${i}`, ...spec }));
  return { ledger, accounts };
}

async function allTransfers(ledger: LedgerStore) {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await ledger.listTransferIds(null, 100, after);
    ids.push(...page.items.map((item) => item.node));
    if (!page.hasNextPage) break;
    after = page.items.at(-1)?.cursor ?? null;
  }
  return (await ledger.loadTransfers(ids)).map((transfer) => {
    if (transfer === null) throw new Error('the index names a missing transfer');
    return transfer;
  });
}

/** The invariants of DESIGN.md, read back from Redis. */
async function checkInvariants(ledger: LedgerStore, accounts: AccountRecord[]) {
  const stored = await ledger.loadAccounts(accounts.map((account) => account.id));
  const sums = new Map<string, bigint>();
  for (const account of stored) {
    if (account === null) throw new Error('an account vanished');
    if (!account.allowNegativeBalance) expect(account.balance >= 0n).toBe(true);
    expect(account.balance <= 9_007_199_254_740_991n && account.balance >= -9_007_199_254_740_991n).toBe(true);
    sums.set(account.currency, (sums.get(account.currency) ?? 0n) + account.balance);
  }
  for (const sum of sums.values()) expect(sum).toBe(0n);

  // Replaying the transfer log from zero gives the stored balances.
  const replayed = new Map(accounts.map((account) => [account.id, 0n]));
  for (const transfer of await allTransfers(ledger)) {
    replayed.set(transfer.fromAccountId, (replayed.get(transfer.fromAccountId) ?? 0n) - transfer.amount);
    replayed.set(transfer.toAccountId, (replayed.get(transfer.toAccountId) ?? 0n) + transfer.amount);
  }
  expect(stored.map((account) => account?.balance)).toEqual(accounts.map((account) => replayed.get(account.id)));
  return stored as AccountRecord[];
}

describe('random transfer sequences (fast-check, real Redis)', () => {
  it('match a reference model one by one, and keep the invariants', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(accountSpec, { minLength: 2, maxLength: 5 }), fc.array(transferSpec, { maxLength: 40 }), async (specs, transfers) => {
        const { ledger, accounts } = await freshLedger(specs);
        const model = new Map(accounts.map((account) => [account.id, 0n]));
        for (const step of transfers) {
          const from = accounts[step.from % accounts.length] as AccountRecord;
          const to = accounts[step.to % accounts.length] as AccountRecord;
          if (from.id === to.id) continue; // refused before execution; covered by unit tests
          const amount = step.drain === null ? step.amount : (model.get(from.id) ?? 0n) + step.drain;
          if (amount < 1n) continue;
          const fromAfter = (model.get(from.id) ?? 0n) - amount;
          const toAfter = (model.get(to.id) ?? 0n) + amount;
          const allowed =
            from.currency === step.currency &&
            to.currency === step.currency &&
            (from.allowNegativeBalance || fromAfter >= 0n) &&
            fromAfter >= -9_007_199_254_740_991n &&
            toAfter <= 9_007_199_254_740_991n;
          const outcome = await ledger
            .createTransfer({ fromAccountId: from.id, toAccountId: to.id, amount, currency: step.currency, reference: null })
            .then(
              () => 'applied',
              (error: unknown) => {
                if (error instanceof LedgerError) return error.name;
                throw error;
              },
            );
          expect(outcome === 'applied').toBe(allowed);
          if (allowed) {
            model.set(from.id, fromAfter);
            model.set(to.id, toAfter);
          }
        }
        const stored = await checkInvariants(ledger, accounts);
        expect(stored.map((account) => account.balance)).toEqual(accounts.map((account) => model.get(account.id)));
      }),
      { numRuns: 40 },
    );
  });

  it('keep the invariants when the transfers race each other', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(accountSpec, { minLength: 2, maxLength: 4 }), fc.array(transferSpec, { minLength: 1, maxLength: 60 }), async (specs, transfers) => {
        const { ledger, accounts } = await freshLedger(specs);
        await Promise.all(
          transfers.map((step) => {
            const from = accounts[step.from % accounts.length] as AccountRecord;
            const to = accounts[step.to % accounts.length] as AccountRecord;
            return ledger
              .createTransfer({ fromAccountId: from.id, toAccountId: to.id, amount: step.amount, currency: step.currency, reference: null })
              .catch((error: unknown) => {
                if (!(error instanceof LedgerError)) throw error;
              });
          }),
        );
        await checkInvariants(ledger, accounts);
      }),
      { numRuns: 25 },
    );
  });
});
