import 'reflect-metadata';
import type { GraphQLSchema } from 'graphql';
import { buildSchemaSync } from 'type-graphql';
// Import order is decorator order, which is the order of the root fields in the emitted schema.
import { ViewerResolver } from './viewer.resolver';
import { AccountResolver } from './account.resolver';
import { mapDomainErrors } from './errors';
import { TransferResolver } from './transfer.resolver';
import { IdempotencyResolver } from './idempotency.resolver';

let schema: GraphQLSchema | undefined;

/** The onceql schema; built once per process (type-graphql keeps global metadata). */
export function buildLedgerSchema(): GraphQLSchema {
  schema ??= buildSchemaSync({
    resolvers: [ViewerResolver, AccountResolver, TransferResolver, IdempotencyResolver],
    globalMiddlewares: [mapDomainErrors],
    validate: false,
  });
  return schema;
}
