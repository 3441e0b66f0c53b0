import type { AuthChecker } from 'type-graphql';
import { ForbiddenError } from '../errors';
import type { Context } from './context';

/**
 * `@Authorized('read' | 'write' | 'admin')`: the calling key must hold every named scope.
 * Authentication itself happened before execution; this only checks scopes (403 FORBIDDEN).
 */
export const scopeAuthChecker: AuthChecker<Context> = ({ context, info }, required) => {
  const missing = required.filter((scope) => !(context.principal.scopes as readonly string[]).includes(scope));
  if (missing.length > 0) {
    throw new ForbiddenError(`${info.parentType.name}.${info.fieldName} needs the ${missing.map((scope) => scope.toUpperCase()).join(', ')} scope, which this api key does not have.`);
  }
  return true;
};
