import { Directive } from 'type-graphql';
import { MAX_API_KEYS_PER_TENANT } from '../auth/store';
import { MAX_PAGE_SIZE } from '../ledger/store';

/**
 * The cost directives onceql's fields carry (IBM GraphQL Cost Directive specification, declared in
 * src/ratelimit/directives.ts and read back from the schema by the analysis). Without a directive
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
