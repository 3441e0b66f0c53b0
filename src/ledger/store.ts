import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { defineAtomicScript, hasIdempotencyKey, withoutIdempotency } from '@onceql/idempotency';
import type { AtomicIdempotency } from '@onceql/idempotency';
import { arrayReply, defineScript, hashReply, integerReply, readLua, ScriptReplyError } from '@onceql/redis-script';
import type { RedisClient } from '../redis/client';
import { isWellFormedId, lookupId, newId, tenantKeys } from '../redis/keys';
import type { TenantKeys } from '../redis/keys';
import { loadHashes } from '../redis/scripts';
import { sendWrite } from '../redis/client';
import {
  AccountNotFoundError,
  BalanceLimitExceededError,
  CurrencyMismatchError,
  InsufficientFundsError,
  InvalidInputError,
} from './errors';
import { assertCurrency, assertTransferAmount } from './money';
import { textProblem } from '../text';
import type { AccountRecord, NewAccount, NewTransfer, Page, TransferRecord, TransferResult } from './types';

export const MAX_PAGE_SIZE = 100;
const MAX_NAME_LENGTH = 200;
const MAX_REFERENCE_LENGTH = 500;

/** Status codes of create_account.lua's domain reply, shared with it as constants. */
export const AccountScriptStatus = { CREATED: 1, ID_TAKEN: 2 } as const;

/** Status codes of create_transfer.lua's domain reply, shared with it as constants. */
export const TransferScriptStatus = {
  APPLIED: 1,
  FROM_NOT_FOUND: 2,
  TO_NOT_FOUND: 3,
  CURRENCY_MISMATCH: 4,
  INSUFFICIENT_FUNDS: 5,
  BALANCE_LIMIT: 6,
  ID_TAKEN: 7,
} as const;
type TransferScriptStatus = (typeof TransferScriptStatus)[keyof typeof TransferScriptStatus];

const lua = (name: string) => readLua(path.join(__dirname, 'scripts', name));
const text = (value: unknown): string | undefined => (value === undefined || value === null ? undefined : String(value));

/** The account create_account.lua created or replayed; fields a v1 record lacks are undefined. */
interface CreatedAccountReply {
  readonly id: string;
  readonly createdAtMs: number;
  readonly seq: number;
  readonly name: string | undefined;
  readonly currency: string | undefined;
  readonly allowNegativeBalance: boolean | undefined;
}

export const createAccountScript = defineAtomicScript({
  name: 'createAccount',
  source: lua('create_account.lua'),
  keys: ['sequence', 'account', 'accounts'],
  args: ['accountId', 'name', 'currency', 'allowNegativeBalance'],
  constants: AccountScriptStatus,
  decode: (domain): CreatedAccountReply | 'idTaken' => {
    const [status, id, createdAtMs, seq, name, currency, allowNegativeBalance] = domain;
    switch (integerReply('createAccount', status)) {
      case AccountScriptStatus.CREATED:
        return {
          id: String(id),
          createdAtMs: integerReply('createAccount', createdAtMs),
          seq: integerReply('createAccount', seq),
          name: text(name),
          currency: text(currency),
          allowNegativeBalance: allowNegativeBalance === undefined ? undefined : String(allowNegativeBalance) === '1',
        };
      case AccountScriptStatus.ID_TAKEN:
        return 'idTaken';
      default:
        throw new ScriptReplyError('createAccount', `unknown status ${String(status)}`);
    }
  },
});

/** What create_transfer.lua answers: the domain status, the applied transfer's fields, and the accounts' rows when it applied. */
interface TransferReply {
  readonly status: TransferScriptStatus;
  readonly applied: readonly unknown[];
  readonly accounts: AccountRecord[];
}

export const createTransferScript = defineAtomicScript({
  name: 'createTransfer',
  source: lua('create_transfer.lua'),
  keys: ['fromAccount', 'toAccount', 'transfer', 'transfers', 'fromTransfers', 'toTransfers', 'sequence'],
  args: ['transferId', 'fromId', 'toId', 'amount', 'currency', 'reference', 'hasReference'],
  constants: TransferScriptStatus,
  decode: (domain, live): TransferReply => {
    const [status, ...applied] = domain;
    const code = integerReply('createTransfer', status);
    if (!(Object.values(TransferScriptStatus) as number[]).includes(code)) throw new ScriptReplyError('createTransfer', `unknown status ${code}`);
    const accounts = live.map(hashReply).filter((row): row is Record<string, string> => row !== null).map(toAccount);
    return { status: code as TransferScriptStatus, applied, accounts };
  },
});

/**
 * load_account_page.lua: an account's hash and a page of its transfer index (ZRANGEBYSCORE
 * WITHSCORES), read at one instant, in one round trip.
 */
export const loadAccountPageScript = defineScript({
  name: 'loadAccountPage',
  source: lua('load_account_page.lua'),
  keys: ['account', 'transfers'],
  args: ['min', 'count'],
  decode: (reply: unknown) => {
    const [account, ids] = arrayReply('loadAccountPage', reply, 2);
    return { account: hashReply(account), ids: arrayReply('loadAccountPage', ids) };
  },
});

/** The ledger's scripts, for lists of every script of the app. */
export const LEDGER_SCRIPTS = [createAccountScript.script, createTransferScript.script, loadAccountPageScript] as const;

function assertNever(value: never): never {
  throw new Error(`unexpected script status ${String(value)}`);
}

/** Checks that need no stored data; they run before anything is written. */
export function validateNewAccount(input: NewAccount): void {
  const name = input.name.trim();
  if (name.length === 0 || input.name.length > MAX_NAME_LENGTH) {
    throw new InvalidInputError('name', `Name must be 1-${MAX_NAME_LENGTH} characters and not blank.`);
  }
  assertStorableText('name', input.name);
  assertCurrency(input.currency);
}

/** Text is stored as acknowledged, or refused: see src/text.ts. */
function assertStorableText(field: string, text: string): void {
  const problem = textProblem(text);
  if (problem !== null) throw new InvalidInputError(field, `The ${field} ${problem}; send well-formed text without control characters.`);
}

export function validateNewTransfer(input: NewTransfer): void {
  assertTransferAmount(input.amount);
  assertCurrency(input.currency);
  if (input.fromAccountId === input.toAccountId) {
    throw new InvalidInputError('toAccountId', 'A transfer needs two different accounts.');
  }
  if (input.reference !== null && input.reference.length > MAX_REFERENCE_LENGTH) {
    throw new InvalidInputError('reference', `Reference must be at most ${MAX_REFERENCE_LENGTH} characters.`);
  }
  if (input.reference !== null) assertStorableText('reference', input.reference);
}

export function validatePageSize(first: number): void {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new InvalidInputError('first', `first must be between 1 and ${MAX_PAGE_SIZE}.`);
  }
}

/** Cursors are opaque to clients: base64url of the item's position in creation order. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`s:${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString();
  const match = /^s:(\d{1,15})$/.exec(text);
  if (match === null || encodeCursor(Number(match[1])) !== cursor) {
    throw new InvalidInputError('after', 'after must be a cursor returned by this API (an endCursor or edge cursor).');
  }
  return Number(match[1]);
}

/** A page request checked and turned into its index range: see {@link pageRange}. */
export interface PageRange {
  readonly first: number;
  /** ZRANGEBYSCORE's min: "-inf", or "(<seq>" for the items after a cursor. */
  readonly min: string;
}

/**
 * Checks a page request (`first` in range, `after` a cursor of this API) and gives its index
 * range; throws InvalidInputError like the list it asks for would.
 */
export function pageRange(first: number, after: string | null | undefined): PageRange {
  validatePageSize(first);
  const afterSeq = after === null || after === undefined ? null : decodeCursor(after);
  return { first, min: afterSeq === null ? '-inf' : `(${afterSeq}` };
}

/** A page from ZRANGEBYSCORE … WITHSCORES LIMIT 0 first+1: at most `first` items, and whether more follow. */
function toPage(reply: readonly unknown[], first: number): Page<string> {
  const items: { cursor: string; node: string }[] = [];
  for (let i = 0; i + 1 < reply.length && items.length < first; i += 2) {
    items.push({ node: String(reply[i]), cursor: encodeCursor(Number(reply[i + 1])) });
  }
  return { items, hasNextPage: reply.length / 2 > first };
}

function toAccount(hash: Record<string, string>): AccountRecord {
  return {
    id: hash.id ?? '',
    name: hash.name ?? '',
    currency: hash.currency ?? '',
    balance: BigInt(hash.balance ?? '0'),
    allowNegativeBalance: hash.allowNegativeBalance === '1',
    createdAt: new Date(Number(hash.createdAt)),
    seq: Number(hash.seq),
  };
}

/**
 * A transfer row: format 2 (short names f, t, a, c, ts, s, r; the id only in the key name), or
 * the rows written before it (id, from, to, amount, currency, createdAt, seq, reference).
 */
function toTransfer(hash: Record<string, string>, id: string): TransferRecord {
  if (hash.f === undefined) {
    return {
      id: hash.id ?? id,
      fromAccountId: hash.from ?? '',
      toAccountId: hash.to ?? '',
      amount: BigInt(hash.amount ?? '0'),
      currency: hash.currency ?? '',
      reference: hash.reference ?? null,
      createdAt: new Date(Number(hash.createdAt)),
      seq: Number(hash.seq),
    };
  }
  return {
    id,
    fromAccountId: hash.f,
    toAccountId: hash.t ?? '',
    amount: BigInt(hash.a ?? '0'),
    currency: hash.c ?? '',
    reference: hash.r ?? null,
    createdAt: new Date(Number(hash.ts)),
    seq: Number(hash.s),
  };
}

/**
 * The applied transfer from the script's reply: the stored one on a replay too. Records written
 * before the reply carried the whole transfer hold only its id, time and sequence; the rest of
 * those is the retry's input, which the fingerprint proved equal to the first request's.
 */
function storedTransfer(reply: readonly unknown[], input: NewTransfer): TransferRecord {
  const [id, createdAtMs, seq, fromId, toId, amount, currency, hasReference, reference] = reply;
  const whole = currency !== undefined;
  return {
    id: String(id),
    fromAccountId: whole ? String(fromId) : input.fromAccountId,
    toAccountId: whole ? String(toId) : input.toAccountId,
    amount: whole ? BigInt(String(amount)) : input.amount,
    currency: whole ? String(currency) : input.currency,
    reference: whole ? (String(hasReference) === '1' ? String(reference) : null) : input.reference,
    createdAt: new Date(Number(createdAtMs)),
    seq: Number(seq),
  };
}

/**
 * The ledger of one tenant. Every write is one Lua script; reads of many records are one command.
 */
export class LedgerStore {
  private readonly keys: TenantKeys;
  /** The tenant's key prefix with its hash tag; idempotency records of the tenant live under it. */
  readonly namespace: string;

  constructor(
    private readonly redis: RedisClient,
    readonly tenantId: string,
    private readonly random: (size: number) => Buffer = randomBytes,
  ) {
    this.keys = tenantKeys(tenantId);
    this.namespace = this.keys.tag;
  }

  /**
   * Opens an account. With an idempotency call, a retry of the same key gets the account created
   * first (replayed by the same script), and a different request under that key is refused.
   */
  async createAccount(input: NewAccount, idempotency: AtomicIdempotency = withoutIdempotency(this.namespace)): Promise<AccountRecord> {
    validateNewAccount(input);
    const idempotent = hasIdempotencyKey(idempotency);
    const k = this.keys;
    for (;;) {
      const id = newId(this.random);
      const created = await sendWrite('create_account', idempotent, () =>
        createAccountScript.run(this.redis, idempotency, { sequence: k.sequence, account: k.account(id), accounts: k.accounts }, {
          accountId: id,
          name: input.name,
          currency: input.currency,
          allowNegativeBalance: input.allowNegativeBalance ? '1' : '0',
        }),
      );
      if (created === 'idTaken') continue; // an 80-bit id collided: draw another
      // The account as created; records written before the reply carried name and currency hold
      // only id, time and sequence, and the rest is the retry's input (the fingerprint proved it equal).
      return {
        id: created.id,
        name: created.name ?? input.name,
        currency: created.currency ?? input.currency,
        balance: 0n,
        allowNegativeBalance: created.allowNegativeBalance ?? input.allowNegativeBalance,
        createdAt: new Date(created.createdAtMs),
        seq: created.seq,
      };
    }
  }

  /**
   * Moves money in one script. With an idempotency call, a retry of the same key gets the first
   * outcome, refusals included, and a different request under that key is refused. The result has
   * the transfer as stored and both accounts as they are after it (on a replay: now), read by the
   * same script, for the request's loaders.
   */
  async createTransfer(input: NewTransfer, idempotency: AtomicIdempotency = withoutIdempotency(this.namespace)): Promise<TransferResult> {
    validateNewTransfer(input);
    const k = this.keys;
    const idempotent = hasIdempotencyKey(idempotency);
    // A malformed id names no account: the script looks it up as one that cannot exist and
    // records NOT_FOUND like for any unknown id, so a retry of the key replays that refusal.
    const fromId = lookupId(input.fromAccountId);
    const toId = lookupId(input.toAccountId);
    for (;;) {
      const id = newId(this.random);
      const { status, applied, accounts } = await sendWrite('create_transfer', idempotent, () =>
        createTransferScript.run(
          this.redis,
          idempotency,
          {
            fromAccount: k.account(fromId),
            toAccount: k.account(toId),
            transfer: k.transfer(id),
            transfers: k.transfers,
            fromTransfers: k.accountTransfers(fromId),
            toTransfers: k.accountTransfers(toId),
            sequence: k.sequence,
          },
          {
            transferId: id,
            fromId: input.fromAccountId,
            toId: input.toAccountId,
            amount: input.amount.toString(),
            currency: input.currency,
            reference: input.reference ?? '',
            hasReference: input.reference === null ? '0' : '1',
          },
        ),
      );
      switch (status) {
        case TransferScriptStatus.APPLIED:
          return { transfer: storedTransfer(applied, input), accounts };
        case TransferScriptStatus.FROM_NOT_FOUND:
          throw new AccountNotFoundError(input.fromAccountId);
        case TransferScriptStatus.TO_NOT_FOUND:
          throw new AccountNotFoundError(input.toAccountId);
        case TransferScriptStatus.CURRENCY_MISMATCH:
          throw new CurrencyMismatchError();
        case TransferScriptStatus.INSUFFICIENT_FUNDS:
          throw new InsufficientFundsError(input.fromAccountId);
        case TransferScriptStatus.BALANCE_LIMIT:
          throw new BalanceLimitExceededError();
        case TransferScriptStatus.ID_TAKEN:
          continue; // an 80-bit id collided: draw another
        default:
          return assertNever(status);
      }
    }
  }

  /** One entry per id, in order; null where the account does not exist for this tenant. */
  async loadAccounts(ids: readonly string[]): Promise<(AccountRecord | null)[]> {
    return this.load(ids, (id) => this.keys.account(id), toAccount);
  }

  /** One entry per id, in order; null where the transfer does not exist for this tenant. */
  async loadTransfers(ids: readonly string[]): Promise<(TransferRecord | null)[]> {
    return this.load(ids, (id) => this.keys.transfer(id), toTransfer);
  }

  /**
   * An account and a page of the ids of its transfers (oldest first), read at one instant by one
   * script: one round trip where loading the account and then listing its transfers takes two.
   * Null and no page when the account does not exist for this tenant (no command for an id that
   * is not well-formed).
   */
  async loadAccountWithTransferIds(accountId: string, range: PageRange): Promise<{ account: AccountRecord; transferIds: Page<string> } | null> {
    if (!isWellFormedId(accountId)) return null;
    const { account, ids } = await loadAccountPageScript.run(
      this.redis,
      { account: this.keys.account(accountId), transfers: this.keys.accountTransfers(accountId) },
      { min: range.min, count: range.first + 1 },
    );
    return account === null ? null : { account: toAccount(account), transferIds: toPage(ids, range.first) };
  }

  /** Account ids oldest first; load the records through the request's DataLoader. */
  listAccountIds(first: number, after: string | null | undefined): Promise<Page<string>> {
    return this.page(this.keys.accounts, first, after);
  }

  /** Transfer ids oldest first, of the tenant or of one account. */
  listTransferIds(accountId: string | null | undefined, first: number, after: string | null | undefined): Promise<Page<string>> {
    if (accountId !== null && accountId !== undefined && !isWellFormedId(accountId)) {
      validatePageSize(first);
      return Promise.resolve({ items: [], hasNextPage: false });
    }
    return this.page(accountId === null || accountId === undefined ? this.keys.transfers : this.keys.accountTransfers(accountId), first, after);
  }

  private async load<T>(ids: readonly string[], key: (id: string) => string, decode: (hash: Record<string, string>, id: string) => T): Promise<(T | null)[]> {
    const wellFormed = ids.filter(isWellFormedId);
    const hashes = await loadHashes(this.redis, wellFormed.map(key));
    const byId = new Map<string, T>();
    wellFormed.forEach((id, i) => {
      const hash = hashes[i];
      if (hash) byId.set(id, decode(hash, id));
    });
    return ids.map((id) => byId.get(id) ?? null);
  }

  private async page(indexKey: string, first: number, after: string | null | undefined): Promise<Page<string>> {
    const range = pageRange(first, after);
    const reply = await this.redis.zrangebyscore(indexKey, range.min, '+inf', 'WITHSCORES', 'LIMIT', 0, range.first + 1);
    return toPage(reply, range.first);
  }
}
