import DataLoader from 'dataloader';
import type { Principal } from '../auth/store';
import type { AuthStore } from '../auth/store';
import type { LedgerStore } from '../ledger/store';
import type { AccountRecord, TransferRecord } from '../ledger/types';
import type { RedisClient } from '../redis/client';
import type { Admission } from '../ratelimit';

/** Per-request loaders: every account or transfer asked for in one tick is one Redis command. */
export interface Loaders {
  readonly accounts: DataLoader<string, AccountRecord | null>;
  readonly transfers: DataLoader<string, TransferRecord | null>;
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
}

export function createLoaders(ledger: LedgerStore): Loaders {
  return {
    accounts: new DataLoader((ids) => ledger.loadAccounts(ids), { maxBatchSize: 500 }),
    transfers: new DataLoader((ids) => ledger.loadTransfers(ids), { maxBatchSize: 500 }),
  };
}
