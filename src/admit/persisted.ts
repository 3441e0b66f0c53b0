import { createHash } from 'node:crypto';

/**
 * Trusted documents (persisted queries): a request may name its operation by the hex SHA-256 of
 * the document's text in `extensions.persistedQuery.sha256Hash`, as Apollo's persisted-query link
 * and codegen's client preset send it. A publishable key may run nothing else, and only documents
 * registered for its tenant (`admin register-documents`).
 */

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The hash a request names, or null when it names none (or not a well-formed one). */
export function persistedQueryHash(extensions: Record<string, unknown> | undefined): string | null {
  const persisted = extensions?.persistedQuery;
  if (persisted === null || typeof persisted !== 'object') return null;
  const hash = (persisted as Record<string, unknown>).sha256Hash;
  return typeof hash === 'string' && SHA256_HEX.test(hash) ? hash : null;
}

/** Hex SHA-256 of a document's text, as codegen's persisted-documents manifest computes it. */
export function documentHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
