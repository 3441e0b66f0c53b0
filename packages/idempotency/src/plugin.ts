import type { ApolloServerPlugin } from '@apollo/server';
import { IdempotencyErrorCode, IdempotencyKeyInvalidError } from './errors';
import { rootFieldsOf } from './http-status';
import { validateIdempotencyKey } from './key';
import type { IdempotencyCall, IdempotencyEntry, IdempotencyOptions } from './runtime';
import { attachRequest, IdempotencyRuntime } from './runtime';

/**
 * The Apollo side of idempotent mutations: reads the `Idempotency-Key` header (valid only on an
 * operation with exactly one mutation field), and on the way out sets `Idempotent-Replayed: true`
 * when anything was replayed, lists `extensions.idempotency` per mutation field, adds
 * `Retry-After` to 409s. It sets no HTTP status: {@link httpStatusPlugin} does that for every
 * error, from one rule (give it your code → status table with `IDEMPOTENCY_HTTP_STATUS` in it).
 * Fields opt in with `@Idempotent()`.
 */
export function idempotencyPlugin<TContext extends object>(options: IdempotencyOptions<TContext> | IdempotencyRuntime<TContext>): ApolloServerPlugin<TContext> {
  const runtime = options instanceof IdempotencyRuntime ? options : new IdempotencyRuntime(options);
  return {
    async serverWillStart() {
      return {
        async serverWillStop() {
          await runtime.leased.close();
        },
      };
    },
    async requestDidStart({ request, contextValue }) {
      const header = request.http?.headers.get('idempotency-key');
      const state = {
        runtime: runtime as unknown as IdempotencyRuntime<object>,
        headerKey: undefined as string | undefined,
        headerError: undefined as IdempotencyKeyInvalidError | undefined,
        entries: [] as IdempotencyEntry[],
        calls: new Map<string, IdempotencyCall>(),
      };
      if (header !== undefined) {
        try {
          state.headerKey = validateIdempotencyKey(header);
        } catch (error) {
          state.headerError = error as IdempotencyKeyInvalidError;
        }
      }
      attachRequest(contextValue, state);

      return {
        async didResolveOperation({ operation, document }) {
          if (header === undefined || operation?.operation !== 'mutation') return;
          if (state.headerError) throw state.headerError;
          if (rootFieldsOf(operation, document).count !== 1) {
            throw new IdempotencyKeyInvalidError('the Idempotency-Key header applies only to an operation with exactly one mutation field; pass idempotencyKey on each field instead');
          }
        },
        async willSendResponse({ response }) {
          if (state.entries.some((entry) => entry.status === 'REPLAYED')) response.http.headers.set('idempotent-replayed', 'true');
          if (response.body.kind !== 'single') return;
          const result = response.body.singleResult;
          if (state.entries.length > 0) result.extensions = { ...result.extensions, idempotency: state.entries };
          const errors = result.errors ?? [];
          // Errors that tell the client to come back with the same key say when: a key still in
          // progress (409), or a write whose outcome is unknown (503). The longest wait wins.
          const waits = errors.flatMap((error) => {
            const retryAfterMs = error.extensions?.retryAfterMs;
            if (typeof retryAfterMs === 'number') return [retryAfterMs];
            return error.extensions?.code === IdempotencyErrorCode.IDEMPOTENCY_REQUEST_IN_PROGRESS ? [1000] : [];
          });
          if (waits.length > 0) response.http.headers.set('retry-after', String(Math.max(1, Math.ceil(Math.max(...waits) / 1000))));
        },
      };
    },
  };
}
