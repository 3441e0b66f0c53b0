import DataLoader from 'dataloader';
import type { Principal } from '../auth/store';
import type { AuthStore } from '../auth/store';
import type { LedgerStore } from '../ledger/store';
import type { AccountRecord, TransferRecord } from '../ledger/types';
import type { RedisClient } from '../redis/client';
import type { Admission } from '@onceql/ratelimit';

/** Per-request loaders: every account or transfer asked for in one tick is one Redis command. */
export interface Loaders {
  readonly accounts: DataLoader<string, AccountRecord | null>;
  readonly transfers: DataLoader<string, TransferRecord | null>;
  /**
   * Loads account `id` with `read` (another command than the loader's, e.g. one that reads a page
   * of its transfers too), and has the accounts loader answer `id` with that row for the rest of
   * the request; or, when the loader has loaded or is loading `id` already, answers from the
   * loader and never calls `read`: one request sees one row per account. A read that fails is
   * forgotten, like a failed batch, so a later load tries again.
   */
  readonly loadAccountWith: (id: string, read: () => Promise<AccountRecord | null>) => Promise<AccountRecord | null>;
}

export interface Context {
  readonly requestId: string;
  readonly principal: Principal;
  readonly ledger: LedgerStore;
  readonly auth: AuthStore;
  readonly redis: RedisClient;
  readonly loaders: Loaders;
  /** What the admit step decided (rate limit, cost), for `extensions.cost`. */
  readonly admission?: Admission;
  /** The tenant's request rate (RATE_LIMIT_PER_SECOND): no key may be minted with a higher one. */
  readonly tenantRatePerSecond: number;
}

export function createLoaders(ledger: LedgerStore): Loaders {
  const accountCache = new Map<string, Promise<AccountRecord | null>>();
  const accounts = new DataLoader((ids: readonly string[]) => ledger.loadAccounts(ids), { maxBatchSize: 500, cacheMap: accountCache });
  return {
    accounts,
    transfers: new DataLoader((ids) => ledger.loadTransfers(ids), { maxBatchSize: 500 }),
    loadAccountWith(id, read) {
      if (accountCache.has(id)) return accounts.load(id);
      const pending = read();
      accountCache.set(id, pending);
      pending.catch(() => {
        if (accountCache.get(id) === pending) accountCache.delete(id);
      });
      return pending;
    },
  };
}

/**
 * After a write, makes the loaders hold the rows it returned, replacing what they cached earlier in
 * the request (DataLoader's `prime` alone keeps an older value): a second transfer in the same
 * operation shows the balances after it, not the ones read before.
 */
export function refreshLoaders(loaders: Loaders, rows: { readonly accounts?: readonly AccountRecord[]; readonly transfers?: readonly TransferRecord[] }): void {
  for (const account of rows.accounts ?? []) loaders.accounts.clear(account.id).prime(account.id, account);
  for (const transfer of rows.transfers ?? []) loaders.transfers.clear(transfer.id).prime(transfer.id, transfer);
}
