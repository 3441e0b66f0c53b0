import { createHash } from 'node:crypto';

/**
 * JSON with sorted object keys, bigints as decimal strings and Dates as ISO strings. Null and
 * absent are the same (an input field sent as null equals one left out), so a retry that spells
 * an optional argument differently is still the same request.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== null && item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, item]) => `${JSON.stringify(name)}:${canonicalJson(item)}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * SHA-256 of the mutation field and its coerced arguments (defaults applied), without the
 * idempotency key argument. Not the selection set, not the caller's credentials.
 */
export function fingerprint(mutation: string, args: Record<string, unknown>, keyArgument = 'idempotencyKey'): string {
  const rest = Object.fromEntries(Object.entries(args).filter(([name]) => name !== keyArgument));
  return createHash('sha256').update(canonicalJson({ mutation, args: rest })).digest('hex');
}
