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
