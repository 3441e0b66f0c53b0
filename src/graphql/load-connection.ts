import type DataLoader from 'dataloader';
import { getArgumentValues, getDirectiveValues, getNamedType, GraphQLIncludeDirective, GraphQLSkipDirective, isObjectType, Kind } from 'graphql';
import type { FieldNode, GraphQLResolveInfo, SelectionSetNode } from 'graphql';
import { pageRange } from '../ledger/store';
import type { PageRange } from '../ledger/store';
import type { AccountRecord, Page, TransferRecord } from '../ledger/types';
import { DEFAULT_PAGE_SIZE, toConnection } from './connection';
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

type Selectable = { readonly directives?: readonly unknown[] } & Parameters<typeof getDirectiveValues>[1];

/** Whether a selection runs under the request's variables (`@skip` / `@include`). */
function runs(node: Selectable, info: GraphQLResolveInfo): boolean {
  if (!node.directives?.length) return true;
  if (getDirectiveValues(GraphQLSkipDirective, node, info.variableValues)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, info.variableValues)?.if !== false;
}

/**
 * The fields named `name` at one level of `selectionSet`, through fragments and inline fragments,
 * those that `@skip`/`@include` leave out not counted. `entered` keeps each fragment read once per name.
 */
function fieldsNamed(info: GraphQLResolveInfo, selectionSet: SelectionSetNode | undefined, name: string, entered: Set<string>, into: FieldNode[] = []): FieldNode[] {
  for (const selection of selectionSet?.selections ?? []) {
    if (!runs(selection, info)) continue;
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value === name) into.push(selection);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      fieldsNamed(info, selection.selectionSet, name, entered, into);
    } else if (!entered.has(`${name}:${selection.name.value}`)) {
      entered.add(`${name}:${selection.name.value}`);
      fieldsNamed(info, info.fragments[selection.name.value]?.selectionSet, name, entered, into);
    }
  }
  return into;
}

/**
 * Whether the connection field being resolved selects `fromAccount` / `toAccount` of its nodes, as
 * execution will run it: aliases, fragments and inline fragments followed, selections that
 * `@skip`/`@include` leave out under the request's variables not counted. Each fragment is read once.
 */
export function accountsSelected(info: GraphQLResolveInfo): AccountsSelected {
  const selected = { from: false, to: false };
  const entered = new Set<string>();
  const below = (fields: readonly FieldNode[], name: string): FieldNode[] => fields.flatMap((field) => fieldsNamed(info, field.selectionSet, name, entered));
  for (const node of below(below(info.fieldNodes, 'edges'), 'node')) {
    if (!selected.from && fieldsNamed(info, node.selectionSet, 'fromAccount', entered).length > 0) selected.from = true;
    if (!selected.to && fieldsNamed(info, node.selectionSet, 'toAccount', entered).length > 0) selected.to = true;
  }
  return selected;
}

/** A page of an account's transfers, as its `transfers(first, after)` field asks for it. */
export interface TransferPageRequest {
  /** The arguments as the field's resolver sees them (`first` null: the default size). */
  readonly first: number | null;
  readonly after: string | null;
  /** The index range they name, checked. */
  readonly range: PageRange;
}

/**
 * The page of transfers that the `Account` being resolved will be asked for (its first
 * `transfers` field that execution will run, under the request's variables), or null: none is
 * selected, or its arguments would be refused (the field itself then refuses them, as before).
 */
export function transferPageSelected(info: GraphQLResolveInfo): TransferPageRequest | null {
  const type = getNamedType(info.returnType);
  const field = isObjectType(type) ? type.getFields().transfers : undefined;
  if (field === undefined) return null;
  const entered = new Set<string>();
  const [node] = info.fieldNodes.flatMap((account) => fieldsNamed(info, account.selectionSet, 'transfers', entered));
  if (node === undefined) return null;
  try {
    const args = getArgumentValues(field, node, info.variableValues);
    const first = typeof args.first === 'number' ? args.first : null;
    const after = typeof args.after === 'string' ? args.after : null;
    return { first, after, range: pageRange(first ?? DEFAULT_PAGE_SIZE, after) };
  } catch {
    return null;
  }
}

/**
 * An account read together with a page of its transfer ids (one script, one instant: see
 * LedgerStore.loadAccountWithTransferIds), so that its `transfers` field with those arguments
 * answers from that page, without a command of its own. A class with its fields written out, like
 * TransferWithAccounts.
 */
class AccountWithTransferIds implements AccountRecord {
  readonly id: string;
  readonly name: string;
  readonly currency: string;
  readonly balance: bigint;
  readonly allowNegativeBalance: boolean;
  readonly createdAt: Date;
  readonly seq: number;

  constructor(
    account: AccountRecord,
    readonly request: TransferPageRequest,
    readonly transferIds: Page<string>,
  ) {
    this.id = account.id;
    this.name = account.name;
    this.currency = account.currency;
    this.balance = account.balance;
    this.allowNegativeBalance = account.allowNegativeBalance;
    this.createdAt = account.createdAt;
    this.seq = account.seq;
  }
}

/** A copy of `account` that carries the page of transfer ids read with it for `request`. */
export function withTransferIds(account: AccountRecord, request: TransferPageRequest, transferIds: Page<string>): AccountRecord {
  return new AccountWithTransferIds(account, request, transferIds);
}

/** The page of transfer ids `account` was read with, when it is the one asked for (same `first`, same `after`); else undefined: list it. */
export function knownTransferIdsOf(account: AccountRecord, first: number | null | undefined, after: string | null | undefined): Page<string> | undefined {
  if (!(account instanceof AccountWithTransferIds)) return undefined;
  return account.request.first === (first ?? null) && account.request.after === (after ?? null) ? account.transferIds : undefined;
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
