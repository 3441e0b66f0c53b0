import { Ctx, Query, Resolver } from 'type-graphql';
import type { ApiKeyRecord, Tenant } from '../auth/store';
import type { Context } from './context';
import { Viewer } from './viewer.type';

@Resolver(() => Viewer)
export class ViewerResolver {
  @Query(() => Viewer, { description: 'The calling key and its tenant. Needs only a valid key.' })
  async viewer(@Ctx() ctx: Context): Promise<{ apiKey: ApiKeyRecord; tenant: Tenant }> {
    const tenant = await ctx.auth.getTenant(ctx.principal.tenantId);
    if (tenant === null) throw new Error(`tenant ${ctx.principal.tenantId} of an authenticated key does not exist`);
    return { apiKey: ctx.principal, tenant };
  }
}
