import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, FieldResolver, ID, Info, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Idempotent, IdempotencyCallParam } from '@onceql/idempotency/type-graphql';
import { IdempotentMutation } from './idempotent.directive';
import type { IdempotencyCall } from '@onceql/idempotency';
import type { AccountRecord, TransferRecord } from '../ledger/types';
import { DEFAULT_PAGE_SIZE } from './connection';
import type { ConnectionShape } from './connection';
import type { Context } from './context';
import { refreshLoaders } from './context';
import { ConnectionListSize, MutationCost } from './cost';
import { accountsSelected, knownAccountOf, loadTransferConnection, withKnownAccounts } from './load-connection';
import { RequiresScopes } from './scope';
import { CreateTransferArgs, TransfersArgs } from './transfer.input';
import { Account } from './account.type';
import { Transfer, TransferConnection } from './transfer.type';

function missingAccount(accountId: string): Error {
  return new Error(`transfer names account ${accountId}, which does not exist`);
}

/**
 * An account a transfer names: without a promise when the transfer was handed with it (a page
 * loaded with its accounts, a transfer just written: see withKnownAccounts), else through the
 * request's loader.
 */
function accountOf(ctx: Context, transfer: TransferRecord, accountId: string): AccountRecord | Promise<AccountRecord> {
  const known = knownAccountOf(transfer, accountId);
  if (known === undefined) {
    return ctx.loaders.accounts.load(accountId).then((account) => {
      if (account === null) throw missingAccount(accountId);
      return account;
    });
  }
  if (known instanceof Error) throw known;
  if (known === null) throw missingAccount(accountId);
  return known;
}

@Resolver(() => Transfer)
export class TransferResolver {
  @RequiresScopes('read')
  @Query(() => Transfer, { nullable: true, description: 'Null when the transfer does not exist for this tenant.' })
  transfer(@Arg('id', () => ID) id: string, @Ctx() ctx: Context): Promise<TransferRecord | null> {
    return ctx.loaders.transfers.load(id);
  }

  @RequiresScopes('read')
  @ConnectionListSize()
  @Query(() => TransferConnection, { description: 'Transfers of the tenant, or of one account, oldest first.' })
  async transfers(@Args() { accountId, first, after }: TransfersArgs, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<ConnectionShape<TransferRecord>> {
    const page = await ctx.ledger.listTransferIds(accountId, first ?? DEFAULT_PAGE_SIZE, after);
    return loadTransferConnection(page, ctx.loaders, accountsSelected(info));
  }

  @RequiresScopes('write')
  @MutationCost()
  @Mutation(() => Transfer, { nullable: true, description: 'Moves money between two accounts of the same currency, atomically and exactly once per idempotency key.' })
  @Idempotent({ required: true })
  @IdempotentMutation({ required: true })
  async createTransfer(@Args() { input }: CreateTransferArgs, @Ctx() ctx: Context, @IdempotencyCallParam() idempotency: IdempotencyCall | null): Promise<TransferRecord> {
    const { transfer, accounts } = await ctx.ledger.createTransfer(
      {
        fromAccountId: input.fromAccountId,
        toAccountId: input.toAccountId,
        amount: input.amount,
        currency: input.currency,
        reference: input.reference ?? null,
      },
      idempotency ?? undefined,
    );
    // The script's own reply: nested balances are those after this transfer, with no round trip
    // (and, for the two accounts it read, without a promise).
    refreshLoaders(ctx.loaders, { accounts, transfers: [transfer] });
    return accounts.length === 0 ? transfer : withKnownAccounts(transfer, new Map(accounts.map((account) => [account.id, account])));
  }

  @RequiresScopes('read')
  @FieldResolver(() => Account)
  fromAccount(@Root() transfer: TransferRecord, @Ctx() ctx: Context): AccountRecord | Promise<AccountRecord> {
    return accountOf(ctx, transfer, transfer.fromAccountId);
  }

  @RequiresScopes('read')
  @FieldResolver(() => Account)
  toAccount(@Root() transfer: TransferRecord, @Ctx() ctx: Context): AccountRecord | Promise<AccountRecord> {
    return accountOf(ctx, transfer, transfer.toAccountId);
  }
}
