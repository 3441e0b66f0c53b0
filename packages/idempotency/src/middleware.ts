import type { GraphQLResolveInfo } from 'graphql';
import { createMethodMiddlewareDecorator, createParameterDecorator } from 'type-graphql';
import type { MiddlewareFn } from 'type-graphql';
import { IdempotencyKeyInvalidError, IdempotencyKeyRequiredError } from './errors';
import { fingerprint } from './fingerprint';
import { validateIdempotencyKey } from './key';
import { IdempotencyCall, requestIdempotency } from './runtime';

export interface IdempotentOptions {
  /** Refuse the mutation without a key (IDEMPOTENCY_KEY_REQUIRED). Default false. */
  readonly required?: boolean;
  /**
   * `atomic` (default): the resolver hands the `@IdempotencyCall()` to a Lua script that includes
   * the atomic building blocks. `leased`: claim, run the resolver, complete; for effects outside Redis.
   */
  readonly path?: 'atomic' | 'leased';
  /** Leased path: the id of what the mutation created, for `idempotencyRecord.resourceId`. */
  readonly resourceId?: (value: never) => string | undefined;
}

function responsePath(info: GraphQLResolveInfo): (string | number)[] {
  const path: (string | number)[] = [];
  for (let at: GraphQLResolveInfo['path'] | undefined = info.path; at; at = at.prev) path.unshift(at.key);
  return path;
}

function idempotentField(options: IdempotentOptions): MiddlewareFn<object> {
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
 * Makes a mutation field idempotent. Put it on the resolver method; the server needs
 * `idempotencyPlugin()`. Keys come from the field's `idempotencyKey` argument or the
 * `Idempotency-Key` header.
 */
export function Idempotent(options: IdempotentOptions = {}) {
  return createMethodMiddlewareDecorator(idempotentField(options));
}

/**
 * Injects the field's {@link IdempotencyCall} (null when the request has no key): pass it to an
 * atomic-path store, or read `execution.downstreamKey` on the leased path.
 */
export function IdempotencyCallParam() {
  return createParameterDecorator<object>(({ context, info }) => requestIdempotency(context).calls.get(responsePath(info).join('.')) ?? null);
}
