/**
 * `@onceql/idempotency/type-graphql`: the decorators for a type-graphql schema. Apart from the root
 * export, so that a server with an SDL schema (`idempotentResolver`) needs no type-graphql.
 */
import { createMethodMiddlewareDecorator, createParameterDecorator } from 'type-graphql';
import type { IdempotentOptions } from './field';
import { idempotencyCallOf, idempotentField } from './field';

export type { IdempotentOptions } from './field';

/**
 * Makes a mutation field idempotent. Put it on the resolver method; the server needs
 * `idempotencyPlugin()`. Keys come from the field's `idempotencyKey` argument or the
 * `Idempotency-Key` header.
 */
export function Idempotent(options: IdempotentOptions = {}) {
  return createMethodMiddlewareDecorator<object>(idempotentField(options));
}

/**
 * Injects the field's {@link IdempotencyCall} (null when the request has no key): pass it to an
 * atomic-path store, or read `execution.downstreamKey` on the leased path.
 */
export function IdempotencyCallParam() {
  return createParameterDecorator<object>(({ context, info }) => idempotencyCallOf(context, info));
}
