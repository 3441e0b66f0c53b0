import { Directive } from 'type-graphql';
import { MAX_API_KEYS_PER_TENANT } from '../auth/store';
import { MAX_PAGE_SIZE } from '../ledger/store';

/**
 * The cost directives onceql's fields carry (IBM GraphQL Cost Directive specification, declared in
 * @onceql/ratelimit's directives.ts and read back from the schema by the analysis). Without a directive
 * an object costs 1 and a scalar or enum 0; these are the exceptions, each written once.
 */

/** A mutation does a write: it costs 10 however it is reached (root, inline fragment, fragment). */
export function MutationCost(): ReturnType<typeof Directive> {
  return Directive('@cost(weight: "10")');
}

/**
 * A Relay connection holds `first` edges (the argument's default when it is left out); an explicit
 * `null` or a value the analysis cannot read counts as the largest page.
 */
export function ConnectionListSize(): ReturnType<typeof Directive> {
  return Directive(`@listSize(assumedSize: ${MAX_PAGE_SIZE}, slicingArguments: ["first"], sizedFields: ["edges"], requireOneSlicingArgument: false)`);
}

/** A tenant's api keys come in one list, at most MAX_API_KEYS_PER_TENANT long (create_api_key.lua refuses more). */
export function ApiKeysListSize(): ReturnType<typeof Directive> {
  return Directive(`@listSize(assumedSize: ${MAX_API_KEYS_PER_TENANT})`);
}

/**
 * The most entries an api key's allowlist holds: validateNewApiKey (src/auth/store.ts) refuses
 * more (test/unit/analyze.test.ts checks the two agree).
 */
export const MAX_ALLOWLIST_ENTRIES = 100;

/**
 * An api key's allowlist: at most MAX_ALLOWLIST_ENTRIES ranges, each up to 43 characters (a
 * full IPv6 CIDR). Priced like every list of scalars (1 point per 16 items, rounded up), so each
 * alias of it costs 7 points per key and the list is not repeated for free.
 */
export function AllowlistListSize(): ReturnType<typeof Directive> {
  return Directive(`@listSize(assumedSize: ${MAX_ALLOWLIST_ENTRIES})`);
}

/** An api key's scopes: each of READ, WRITE, ADMIN at most once (validateNewApiKey removes repeats). */
export function ScopesListSize(): ReturnType<typeof Directive> {
  return Directive('@listSize(assumedSize: 3)');
}
