import { parse, validate } from 'graphql';
import type { GraphQLSchema } from 'graphql';
import { analyzeQuery } from '@onceql/ratelimit';
import type { QueryLimits } from '@onceql/ratelimit';
import { bareHash, documentHash } from './persisted';

/** A document that cannot be registered, and why. */
export interface DocumentProblem {
  readonly hash: string;
  readonly problem: string;
}

export interface CheckedDocuments {
  /** Hex SHA-256 → text, every one valid against the schema and within the query limits. */
  readonly documents: Map<string, string>;
  /** The requested cost of each document with its variables' defaults, as priced at registration. */
  readonly costs: Map<string, number>;
  readonly problems: DocumentProblem[];
}

/**
 * Checks a persisted-documents manifest before it is registered for a tenant: a JSON object of hex
 * SHA-256 (bare or `sha256:`-prefixed) → document text, as codegen's client preset writes it
 * (`persistedDocuments: true`). Each
 * document must hash to its name, parse, validate against the schema, and be priced within the
 * query limits (with its variables' defaults); a manifest with any problem is refused whole, so
 * a publishable key never runs a document nobody could run.
 */
export function checkTrustedDocuments(schema: GraphQLSchema, manifest: unknown, limits: QueryLimits): CheckedDocuments {
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) {
    return { documents: new Map(), costs: new Map(), problems: [{ hash: '', problem: 'the manifest must be a JSON object of sha256 hash → document text' }] };
  }
  const documents = new Map<string, string>();
  const costs = new Map<string, number>();
  const problems: DocumentProblem[] = [];
  for (const [name, text] of Object.entries(manifest as Record<string, unknown>)) {
    const hash = bareHash(name) ?? name;
    if (typeof text !== 'string') {
      problems.push({ hash, problem: 'the document is not a string' });
      continue;
    }
    if (documentHash(text) !== hash) {
      problems.push({ hash, problem: 'the hash is not the SHA-256 of the document text' });
      continue;
    }
    let errors: readonly { message: string }[];
    try {
      errors = validate(schema, parse(text));
    } catch (error) {
      errors = [{ message: error instanceof Error ? error.message : String(error) }];
    }
    if (errors.length > 0) {
      problems.push({ hash, problem: errors.map((error) => error.message).join('; ') });
      continue;
    }
    const analysis = analyzeQuery(schema, text, undefined, {}, limits);
    if (analysis.kind !== 'ok') {
      problems.push({ hash, problem: analysis.kind === 'tooComplex' ? `too complex: ${analysis.reason}` : 'no operation to run' });
      continue;
    }
    documents.set(hash, text);
    costs.set(hash, analysis.cost);
  }
  return { documents, costs, problems };
}
