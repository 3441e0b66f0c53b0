import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { createIdempotencyLink, createRetryLink } from '@onceql/client/apollo';
import type { DocumentNode } from 'graphql';

/** Where the API is and which publishable key to use: `?api=…&key=…` in the page's URL, else the Vite env. */
export function apiConfig(search: string = window.location.search): { url: string; apiKey: string } {
  const params = new URLSearchParams(search);
  return {
    url: params.get('api') ?? import.meta.env.VITE_ONCEQL_URL ?? 'http://localhost:4000/graphql',
    apiKey: params.get('key') ?? import.meta.env.VITE_ONCEQL_KEY ?? '',
  };
}

/** The hash codegen's client preset gave the document (`__meta__.hash`), which the key's tenant registered. */
function registeredHash(document: DocumentNode): string {
  const hash = (document as DocumentNode & { __meta__?: { hash?: string } }).__meta__?.hash;
  if (hash === undefined) throw new Error('This document has no registered hash: add it to src/operations.graphql and run codegen.');
  return hash.replace(/^sha256:/, '');
}

/**
 * Apollo Client with onceql's links: one idempotency key per mutation kept across every retry,
 * retries that wait out Retry-After and never repeat a refusal, and trusted documents sent by
 * their hash alone (a publishable key runs nothing else).
 */
export function createApolloClient(url: string, apiKey: string, onRetry?: () => void): ApolloClient {
  const link = ApolloLink.from([
    createIdempotencyLink(),
    createRetryLink({ maxAttempts: 6, initialDelayMs: 200, onRetry }),
    new PersistedQueryLink({ generateHash: registeredHash }),
    new HttpLink({ uri: url, headers: { 'api-key': apiKey } }),
  ]);
  return new ApolloClient({ link, cache: new InMemoryCache() });
}
