import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, FieldResolver, ID, Info, Mutation, Query, Resolver, Root } from 'type-graphql';
import { Idempotent, IdempotencyCallParam } from '@onceql/idempotency/type-graphql';
import { IdempotentMutation } from './idempotent.directive';
import type { IdempotencyCall } from '@onceql/idempotency';
import type { AccountRecord, TransferRecord } from '../ledger/types';
import { CreateAccountArgs } from './account.input';
import { Account } from './account.type';
import { DEFAULT_PAGE_SIZE, PageArgs } from './connection';
import type { ConnectionShape } from './connection';
import type { Context } from './context';
import { refreshLoaders } from './context';
import { ConnectionListSize, MutationCost } from './cost';
import { accountsSelected, knownTransferIdsOf, loadConnection, loadTransferConnection, transferPageSelected, withTransferIds } from './load-connection';
import { RequiresScopes } from './scope';
import { AccountConnection, TransferConnection } from './transfer.type';

@Resolver(() => Account)
export class AccountResolver {
  @RequiresScopes('read')
  @Query(() => Account, { nullable: true, description: 'Null when the account does not exist for this tenant.' })
  account(@Arg('id', () => ID) id: string, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<AccountRecord | null> {
    // When the selection reads the account's transfers, the account and that page of transfer ids
    // are read by one script (one round trip, one instant), unless the request holds the account
    // already; the loader gets the row, so later loads of it in this request answer with it.
    const request = transferPageSelected(info);
    if (request === null) return ctx.loaders.accounts.load(id);
    return ctx.loaders.loadAccountWith(id, async () => {
      const read = await ctx.ledger.loadAccountWithTransferIds(id, request.range);
      return read === null ? null : withTransferIds(read.account, request, read.transferIds);
    });
  }

  @RequiresScopes('read')
  @ConnectionListSize()
  @Query(() => AccountConnection, { description: 'The tenant\'s accounts, oldest first.' })
  async accounts(@Args() { first, after }: PageArgs, @Ctx() ctx: Context): Promise<ConnectionShape<AccountRecord>> {
    const page = await ctx.ledger.listAccountIds(first ?? DEFAULT_PAGE_SIZE, after);
    return loadConnection(page, ctx.loaders.accounts);
  }

  @RequiresScopes('write')
  @MutationCost()
  @Mutation(() => Account, { nullable: true, description: 'Opens an account with a zero balance. Idempotent when given a key.' })
  @Idempotent()
  @IdempotentMutation()
  async createAccount(@Args() { input }: CreateAccountArgs, @Ctx() ctx: Context, @IdempotencyCallParam() idempotency: IdempotencyCall | null): Promise<AccountRecord> {
    const account = await ctx.ledger.createAccount(
      { name: input.name, currency: input.currency, allowNegativeBalance: input.allowNegativeBalance ?? false },
      idempotency ?? undefined,
    );
    // A new account is as it was just written; a replay's is as it was created (its own scalars
    // stay so), which is not what nested fields below it may show: they load it live.
    if (idempotency?.status !== 'REPLAYED') refreshLoaders(ctx.loaders, { accounts: [account] });
    return account;
  }

  @RequiresScopes('read')
  @ConnectionListSize()
  @FieldResolver(() => TransferConnection, { description: 'Transfers from or to this account, oldest first.' })
  async transfers(@Root() account: AccountRecord, @Args() { first, after }: PageArgs, @Ctx() ctx: Context, @Info() info: GraphQLResolveInfo): Promise<ConnectionShape<TransferRecord>> {
    const page = knownTransferIdsOf(account, first, after) ?? (await ctx.ledger.listTransferIds(account.id, first ?? DEFAULT_PAGE_SIZE, after));
    return loadTransferConnection(page, ctx.loaders, accountsSelected(info));
  }
}
