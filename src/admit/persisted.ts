import { createHash } from 'node:crypto';

/**
 * Trusted documents (persisted queries): a request may name its operation by the hex SHA-256 of
 * the document's text in `extensions.persistedQuery.sha256Hash`, as Apollo's persisted-query link
 * and codegen's client preset send it. A publishable key may run nothing else, and only documents
 * registered for its tenant (`admin register-documents`).
 */

/** Hex SHA-256, optionally with the `sha256:` prefix that codegen's client preset writes. */
const SHA256_HEX = /^(?:sha256:)?([0-9a-f]{64})$/;

/** The bare hex SHA-256 of a hash as a manifest or a request writes it, or null when it is not one. */
export function bareHash(hash: string): string | null {
  return SHA256_HEX.exec(hash)?.[1] ?? null;
}

/** The hash a request names (bare hex), or null when it names none (or not a well-formed one). */
export function persistedQueryHash(extensions: Record<string, unknown> | undefined): string | null {
  const persisted = extensions?.persistedQuery;
  if (persisted === null || typeof persisted !== 'object') return null;
  const hash = (persisted as Record<string, unknown>).sha256Hash;
  return typeof hash === 'string' ? bareHash(hash) : null;
}

/** Hex SHA-256 of a document's text, as codegen's persisted-documents manifest computes it. */
export function documentHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
