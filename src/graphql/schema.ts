import 'reflect-metadata';
import { specifiedDirectives } from 'graphql';
import type { GraphQLSchema } from 'graphql';
import { buildSchemaSync } from 'type-graphql';
import { COST_DIRECTIVES } from '@onceql/ratelimit';
import { idempotentDirective } from './idempotent.directive';
// Import order is decorator order, which is the order of the root fields in the emitted schema.
import { ViewerResolver } from './viewer.resolver';
import { AccountResolver } from './account.resolver';
import { TransferResolver } from './transfer.resolver';
import { IdempotencyResolver } from './idempotency.resolver';
import { ApiKeyResolver } from './api-key.resolver';
import { enforceRequiredScopes } from './auth-checker';

let schema: GraphQLSchema | undefined;

/** The onceql schema; built once per process (type-graphql keeps global metadata). */
export function buildLedgerSchema(): GraphQLSchema {
  if (schema !== undefined) return schema;
  const built = buildSchemaSync({
    resolvers: [ViewerResolver, AccountResolver, TransferResolver, IdempotencyResolver, ApiKeyResolver],
    // No global middleware: domain errors get their public code once, in formatError
    // (./errors.ts), so a plain field resolves without a promise.
    validate: false,
    // @cost and @listSize (IBM cost specification): declared here, used on fields (./cost.ts).
    // @idempotent tells typed clients which mutations take a key (./idempotent.directive.ts).
    directives: [...specifiedDirectives, ...COST_DIRECTIVES, idempotentDirective],
  });
  // @RequiresScopes, checked again as each field resolves (./auth-checker.ts).
  enforceRequiredScopes(built);
  schema = built;
  return schema;
}
