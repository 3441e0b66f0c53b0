export interface AccountRecord {
  readonly id: string;
  readonly name: string;
  readonly currency: string;
  readonly balance: bigint;
  readonly allowNegativeBalance: boolean;
  readonly createdAt: Date;
  /** Position in the tenant's creation order; the basis of cursors. */
  readonly seq: number;
}

export interface TransferRecord {
  readonly id: string;
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly reference: string | null;
  readonly createdAt: Date;
  readonly seq: number;
}

/** What createTransfer answers. */
export interface TransferResult {
  /** The transfer as stored (on a replay, the one the first request created). */
  readonly transfer: TransferRecord;
  /**
   * Both accounts as they are right after the transfer (on a replay: now), read by the same
   * script; empty when the accounts could not be read. For priming the request's loaders.
   */
  readonly accounts: readonly AccountRecord[];
}

export interface NewAccount {
  readonly name: string;
  readonly currency: string;
  readonly allowNegativeBalance: boolean;
}

export interface NewTransfer {
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly reference: string | null;
}

/** One page of a list ordered oldest first. */
export interface Page<T> {
  readonly items: readonly { readonly cursor: string; readonly node: T }[];
  readonly hasNextPage: boolean;
}
