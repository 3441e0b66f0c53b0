import { Args, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { assertMintable } from '../auth/minting';
import type { ApiKeyRecord } from '../auth/store';
import { Idempotent, IdempotencyCallParam } from '@onceql/idempotency/type-graphql';
import { IdempotentMutation } from './idempotent.directive';
import type { IdempotencyCall } from '@onceql/idempotency';
import { CreateApiKeyArgs, RevokeApiKeyArgs } from './api-key.input';
import type { Context } from './context';
import { ApiKeysListSize, MutationCost } from './cost';
import { RequiresScopes } from './scope';
import { ApiKey, CreatedApiKey } from './viewer.type';

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @RequiresScopes('admin')
  @ApiKeysListSize()
  @Query(() => [ApiKey], { description: "The tenant's api keys, revoked ones included; never a secret or a hash." })
  apiKeys(@Ctx() ctx: Context): Promise<ApiKeyRecord[]> {
    return ctx.auth.listApiKeys(ctx.principal.tenantId);
  }

  @RequiresScopes('admin')
  @MutationCost()
  @Mutation(() => CreatedApiKey, { nullable: true, description: 'Creates a key; its secret is in this answer only. Rotate by creating a new key, then revoking the old one.' })
  @Idempotent()
  @IdempotentMutation()
  async createApiKey(
    @Args() { input }: CreateApiKeyArgs,
    @Ctx() ctx: Context,
    @IdempotencyCallParam() idempotency: IdempotencyCall | null,
  ): Promise<{ apiKey: ApiKeyRecord; secret: string | null; secretOmitted: boolean }> {
    const newKey = { name: input.name, scopes: input.scopes, ipAllowlist: input.ipAllowlist ?? [], rateLimitPerSecond: input.rateLimitPerSecond };
    assertMintable(ctx.principal, newKey, ctx.tenantRatePerSecond);
    const created = await ctx.auth.createApiKey(ctx.principal.tenantId, newKey, idempotency ?? undefined);
    return { apiKey: created.apiKey, secret: created.secret, secretOmitted: created.secret === null };
  }

  @RequiresScopes('admin')
  @MutationCost()
  @Mutation(() => ApiKey, { nullable: true, description: 'Stops a key from working on every instance from the next request on.' })
  @Idempotent()
  @IdempotentMutation()
  revokeApiKey(@Args() { id }: RevokeApiKeyArgs, @Ctx() ctx: Context, @IdempotencyCallParam() idempotency: IdempotencyCall | null): Promise<ApiKeyRecord> {
    return ctx.auth.revokeApiKey(ctx.principal.tenantId, id, idempotency ?? undefined);
  }
}
