import { parse } from 'graphql';
import type { DocumentNode } from 'graphql';

/** How many parsed documents are kept, and the longest source kept (longer ones are parsed each time). */
const MAX_DOCUMENTS = 1000;
const MAX_CACHED_SOURCE_LENGTH = 20_000;

const documents = new Map<string, DocumentNode>();

/**
 * `parse` for the admit step's analysis, remembering the last {@link MAX_DOCUMENTS} documents by
 * their text: a client sends the same few operations again and again, and Apollo keeps its own
 * parsed and validated copy by the query's hash, so a repeated query is parsed by neither.
 * Bounded in entries and in source length; a document that fails to parse is never kept (the
 * error is thrown again). Documents are shared: callers must not change them (graphql-js never does).
 */
export function parseRemembered(source: string, maxTokens: number): DocumentNode {
  const cacheable = source.length <= MAX_CACHED_SOURCE_LENGTH;
  const key = `${maxTokens}:${source}`;
  const known = cacheable ? documents.get(key) : undefined;
  if (known !== undefined) {
    // Least recently used goes first: move this one to the end.
    documents.delete(key);
    documents.set(key, known);
    return known;
  }
  const document = parse(source, { maxTokens, noLocation: true });
  if (cacheable) {
    documents.set(key, document);
    if (documents.size > MAX_DOCUMENTS) documents.delete(documents.keys().next().value as string);
  }
  return document;
}
