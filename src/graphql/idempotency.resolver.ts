import { Arg, Ctx, Query, Resolver } from 'type-graphql';
import { readIdempotencyRecord } from '@onceql/idempotency';
import type { IdempotencyRecordView } from '@onceql/idempotency';
import type { Context } from './context';
import { IdempotencyRecord } from './idempotency.type';
import { RequiresScopes } from './scope';

@Resolver(() => IdempotencyRecord)
export class IdempotencyResolver {
  @RequiresScopes('read')
  @Query(() => IdempotencyRecord, { nullable: true, description: 'What happened to a key; null when this tenant never used it or it expired.' })
  idempotencyRecord(@Arg('key') key: string, @Ctx() ctx: Context): Promise<IdempotencyRecordView | null> {
    return readIdempotencyRecord(ctx.redis, ctx.ledger.namespace, key);
  }
}
