import type { AuthChecker } from 'type-graphql';
import { ForbiddenError } from '../errors';
import type { Context } from './context';
import { describeMissingScopes } from './scope';

/**
 * `@RequiresScopes('read' | 'write' | 'admin')` (type-graphql's `@Authorized` underneath): the
 * calling key must hold every named scope. Authentication itself happened before execution, and
 * `scopePlugin` has already refused any operation asking for a field its key lacks; this checks
 * again as each field resolves (403 FORBIDDEN), for an executor that runs without the plugin.
 */
export const scopeAuthChecker: AuthChecker<Context> = ({ context, info }, required) => {
  const missing = required.filter((scope) => !(context.principal.scopes as readonly string[]).includes(scope));
  if (missing.length > 0) {
    throw new ForbiddenError(`${describeMissingScopes(`${info.parentType.name}.${info.fieldName}`, missing)}, which this api key does not have.`);
  }
  return true;
};
