import { Ctx, Query, Resolver } from 'type-graphql';
import type { Context } from './context';
import type { ScopeEnum } from './viewer.type';
import { Viewer } from './viewer.type';

@Resolver(() => Viewer)
export class ViewerResolver {
  @Query(() => Viewer, { description: 'The calling key and its tenant.' })
  async viewer(@Ctx() ctx: Context): Promise<Viewer> {
    const { principal } = ctx;
    const tenant = await ctx.auth.getTenant(principal.tenantId);
    if (tenant === null) throw new Error(`tenant ${principal.tenantId} of an authenticated key does not exist`);
    return {
      tenant,
      apiKey: {
        id: principal.keyId,
        name: principal.keyName,
        prefix: principal.keyPrefix,
        scopes: principal.scopes as ScopeEnum[],
        ipAllowlist: [],
        createdAt: principal.keyCreatedAt,
        lastUsedAt: null,
        revokedAt: null,
      },
    };
  }
}
