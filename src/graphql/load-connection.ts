import type DataLoader from 'dataloader';
import { getDirectiveValues, GraphQLIncludeDirective, GraphQLSkipDirective, Kind } from 'graphql';
import type { GraphQLResolveInfo, SelectionSetNode } from 'graphql';
import type { AccountRecord, Page, TransferRecord } from '../ledger/types';
import { toConnection } from './connection';
import type { ConnectionShape } from './connection';
import type { Loaders } from './context';

/** Resolves a page of ids through the request's DataLoader into a connection (one batched load). */
export async function loadConnection<T>(page: Page<string>, loader: DataLoader<string, T | null>): Promise<ConnectionShape<T>> {
  const nodes = await loader.loadMany(page.items.map((item) => item.node));
  const found = nodes.map((node, i) => {
    if (node instanceof Error) throw node;
    if (node === null) throw new Error(`index names ${page.items[i]?.node}, which does not exist`);
    return node;
  });
  return toConnection(page.items, found, page.hasNextPage);
}

/** The accounts a transfer was handed with, by id: a row, null (no such account), or the load's error. */
type KnownAccounts = ReadonlyMap<string, AccountRecord | null | Error>;

/**
 * A transfer that carries the accounts it names, loaded (or written) with it. A class with its
 * fields written out, not a spread with a symbol key: one copy per node of every page, and V8
 * gives these one shape.
 */
class TransferWithAccounts implements TransferRecord {
  readonly id: string;
  readonly fromAccountId: string;
  readonly toAccountId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly reference: string | null;
  readonly createdAt: Date;
  readonly seq: number;

  constructor(
    transfer: TransferRecord,
    readonly knownAccounts: KnownAccounts,
  ) {
    this.id = transfer.id;
    this.fromAccountId = transfer.fromAccountId;
    this.toAccountId = transfer.toAccountId;
    this.amount = transfer.amount;
    this.currency = transfer.currency;
    this.reference = transfer.reference;
    this.createdAt = transfer.createdAt;
    this.seq = transfer.seq;
  }
}

/**
 * A copy of `transfer` that carries `accounts`, so that its `fromAccount` and `toAccount` resolve
 * without a promise (see {@link knownAccountOf}). The copy belongs to one answer only: a later write
 * in the same request (a second mutation) hands out its own rows, never these.
 */
export function withKnownAccounts(transfer: TransferRecord, accounts: KnownAccounts): TransferRecord {
  return new TransferWithAccounts(transfer, accounts);
}

/** The account `transfer` was handed with (see withKnownAccounts), or undefined: load it. */
export function knownAccountOf(transfer: TransferRecord, accountId: string): AccountRecord | null | Error | undefined {
  return transfer instanceof TransferWithAccounts ? transfer.knownAccounts.get(accountId) : undefined;
}

/** Which accounts of its transfers a connection's selection reads under `edges { node { … } }`. */
export interface AccountsSelected {
  readonly from: boolean;
  readonly to: boolean;
}

/**
 * Whether the connection field being resolved selects `fromAccount` / `toAccount` of its nodes, as
 * execution will run it: aliases, fragments and inline fragments followed, selections that
 * `@skip`/`@include` leave out under the request's variables not counted. Each fragment is read once.
 */
export function accountsSelected(info: GraphQLResolveInfo): AccountsSelected {
  const selected = { from: false, to: false };
  const entered = new Set<string>();
  const runs = (node: { readonly directives?: readonly unknown[] } & Parameters<typeof getDirectiveValues>[1]): boolean => {
    if (!node.directives?.length) return true;
    if (getDirectiveValues(GraphQLSkipDirective, node, info.variableValues)?.if === true) return false;
    return getDirectiveValues(GraphQLIncludeDirective, node, info.variableValues)?.if !== false;
  };
  // The fields named `name` at one level, through fragments, each with its selection set.
  const fieldsNamed = (selectionSet: SelectionSetNode | undefined, name: string, into: SelectionSetNode[]): SelectionSetNode[] => {
    for (const selection of selectionSet?.selections ?? []) {
      if (!runs(selection)) continue;
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === name && selection.selectionSet !== undefined) into.push(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        fieldsNamed(selection.selectionSet, name, into);
      } else if (!entered.has(`${name}:${selection.name.value}`)) {
        entered.add(`${name}:${selection.name.value}`);
        fieldsNamed(info.fragments[selection.name.value]?.selectionSet, name, into);
      }
    }
    return into;
  };
  const nodes = info.fieldNodes.flatMap((field) => fieldsNamed(field.selectionSet, 'edges', [])).flatMap((edges) => fieldsNamed(edges, 'node', []));
  for (const node of nodes) {
    if (!selected.from && fieldsNamed(node, 'fromAccount', []).length > 0) selected.from = true;
    if (!selected.to && fieldsNamed(node, 'toAccount', []).length > 0) selected.to = true;
  }
  return selected;
}

/**
 * A page of transfers as a connection, with the accounts its selection reads loaded before the
 * connection is answered (one batched load through the request's loader, the same command the
 * nested fields would have made one tick later), so that the 2 × 20 nested `fromAccount` /
 * `toAccount` of a page resolve without a promise each.
 */
export async function loadTransferConnection(page: Page<string>, loaders: Loaders, selected: AccountsSelected): Promise<ConnectionShape<TransferRecord>> {
  const connection = await loadConnection(page, loaders.transfers);
  if (!selected.from && !selected.to) return connection;
  const ids = new Set<string>();
  for (const { node } of connection.edges) {
    if (selected.from) ids.add(node.fromAccountId);
    if (selected.to) ids.add(node.toAccountId);
  }
  const wanted = [...ids];
  const loaded = await loaders.accounts.loadMany(wanted);
  const accounts = new Map<string, AccountRecord | null | Error>(wanted.map((id, i) => [id, loaded[i] ?? null]));
  for (const edge of connection.edges) edge.node = withKnownAccounts(edge.node, accounts);
  return connection;
}
