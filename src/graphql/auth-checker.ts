import { defaultFieldResolver, isObjectType } from 'graphql';
import type { GraphQLFieldResolver, GraphQLResolveInfo, GraphQLSchema } from 'graphql';
import { ForbiddenError } from '../errors';
import type { Context } from './context';
import { describeMissingScopes, requiredScopesOf } from './scope';

/** Throws 403 FORBIDDEN unless the calling key holds every one of `required`. */
export function checkScopes(context: Context, info: GraphQLResolveInfo, required: readonly string[]): void {
  const missing = required.filter((scope) => !(context.principal.scopes as readonly string[]).includes(scope));
  if (missing.length > 0) {
    throw new ForbiddenError(`${describeMissingScopes(`${info.parentType.name}.${info.fieldName}`, missing)}, which this api key does not have.`);
  }
}

/**
 * `@RequiresScopes('read' | 'write' | 'admin')`, enforced as each field resolves: the calling key
 * must hold every named scope. Authentication itself happened before execution, and `operationChecksPlugin`
 * has already refused any operation asking for a field its key lacks; this checks again, for an
 * executor that runs without the plugin. It wraps the field's resolver with a synchronous check
 * (not type-graphql's `@Authorized`, whose middleware chain puts four promises on every call of
 * the field: 40 nested `fromAccount`/`toAccount` in a page of 20 transfers).
 */
export function enforceRequiredScopes(schema: GraphQLSchema): void {
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const required = requiredScopesOf(field);
      if (required.length === 0) continue;
      const resolve: GraphQLFieldResolver<unknown, Context> = field.resolve ?? defaultFieldResolver;
      field.resolve = (source, args, context: Context, info) => {
        checkScopes(context, info, required);
        return resolve(source, args, context, info);
      };
    }
  }
}
