import type { GraphQLFieldResolver, GraphQLResolveInfo } from 'graphql';
import { IdempotencyKeyInvalidError, IdempotencyKeyRequiredError } from './errors';
import { fingerprint } from './fingerprint';
import { validateIdempotencyKey } from './key';
import { IdempotencyCall, requestIdempotency } from './runtime';

export interface IdempotentOptions {
  /** Refuse the mutation without a key (IDEMPOTENCY_KEY_REQUIRED). Default false. */
  readonly required?: boolean;
  /**
   * `atomic` (default): the resolver hands its {@link IdempotencyCall} to a script made with
   * `defineAtomicScript`. `leased`: claim, run the resolver, complete; for effects outside Redis.
   */
  readonly path?: 'atomic' | 'leased';
  /** Leased path: the id of what the mutation created, for `idempotencyRecord.resourceId`. */
  readonly resourceId?: (value: never) => string | undefined;
}

export function responsePath(info: GraphQLResolveInfo): (string | number)[] {
  const path: (string | number)[] = [];
  for (let at: GraphQLResolveInfo['path'] | undefined = info.path; at; at = at.prev) path.unshift(at.key);
  return path;
}

/** The work of `@Idempotent()` around one field's resolver (`next`). */
export function idempotentField(options: IdempotentOptions): (field: { context: object; args: Record<string, unknown>; info: GraphQLResolveInfo }, next: () => Promise<unknown>) => Promise<unknown> {
  return async ({ context, args, info }, next) => {
    const state = requestIdempotency(context);
    const { runtime } = state;
    const argumentKey: unknown = args[runtime.keyArgument];
    if (state.headerError) throw state.headerError;
    if (argumentKey !== undefined && argumentKey !== null && state.headerKey !== undefined && argumentKey !== state.headerKey) {
      throw new IdempotencyKeyInvalidError('the Idempotency-Key header and the idempotencyKey argument differ');
    }
    const rawKey = argumentKey ?? state.headerKey;
    if (rawKey === undefined || rawKey === null) {
      if (options.required) throw new IdempotencyKeyRequiredError(info.fieldName);
      return next();
    }
    const key = validateIdempotencyKey(rawKey);
    const namespace = runtime.options.identify(context);
    const call = new IdempotencyCall(namespace, key, fingerprint(info.fieldName, args, runtime.keyArgument), info.fieldName, runtime.options.ttlSeconds);
    const path = responsePath(info);
    state.calls.set(path.join('.'), call);
    const settle = () => {
      if (call.status !== undefined) state.entries.push({ path, key, status: call.status });
    };

    if (options.path !== 'leased') {
      try {
        return await next();
      } finally {
        settle();
      }
    }
    // type-graphql's next() runs the resolver once per request (a second call throws). When this
    // request is fenced and then claims the key again (the take-over released it, or let its own
    // lease expire), the new execution answers with that one run's outcome: it was made with the
    // same downstreamKey, so it is what the other system's idempotency would answer a re-run with.
    let run: Promise<unknown> | undefined;
    const outcome = await runtime.leased.execute(
      call,
      (execution) => {
        call.execution = execution;
        run ??= next();
        return run;
      },
      options.resourceId as ((value: unknown) => string | undefined) | undefined,
    );
    call.settle(outcome.status);
    settle();
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  };
}

/**
 * `@Idempotent()` for a schema without type-graphql (SDL and a resolver map): wraps a mutation
 * field's resolver. The server needs `idempotencyPlugin()`; the resolver finds its call with
 * {@link idempotencyCallOf}.
 */
export function idempotentResolver<TSource, TContext extends object, TArgs extends Record<string, unknown>>(
  resolver: GraphQLFieldResolver<TSource, TContext, TArgs>,
  options: IdempotentOptions = {},
): GraphQLFieldResolver<TSource, TContext, TArgs> {
  const around = idempotentField(options);
  return (source, args, context, info) => around({ context, args, info }, async () => resolver(source, args, context, info));
}

/** The field's {@link IdempotencyCall} (null when the request has no key), as `@IdempotencyCallParam()` injects it. */
export function idempotencyCallOf(context: object, info: GraphQLResolveInfo): IdempotencyCall | null {
  return requestIdempotency(context).calls.get(responsePath(info).join('.')) ?? null;
}
