import type { Scope } from './api-key';
import { KeyEscalationError } from './errors';
import { allowlistRanges } from './ip';
import type { ApiKeyRecord, NewApiKey } from './store';
import { validateNewApiKey } from './store';

/**
 * Minting cannot escalate: a key creates only keys with no more power than its own. Checked before
 * anything is written (it needs nothing stored beyond the minting key, which admit already read),
 * so a refusal records nothing, not even under an idempotency key. The operator's `create-key`
 * command is the root of trust and is not held to it.
 *
 * - **scopes**: a subset of the minting key's.
 * - **ipAllowlist**: when the minting key has one, the new key must have one too, and every range
 *   of it must lie inside one range of the minting key's (compared as the same address ranges the
 *   admit script checks, so IPv4, IPv4-mapped IPv6 and host bits cannot slip past). A range covered
 *   only by several of the minting key's ranges together is refused: keep the rule simple to audit.
 * - **rateLimitPerSecond**: at most the tenant's rate; and when the minting key has its own rate,
 *   at most that (a new key without a rate runs at the tenant's, so it must state one).
 *
 * @returns the new key's input, validated (BAD_USER_INPUT first: malformed input is not escalation).
 */
export function assertMintable(minter: Pick<ApiKeyRecord, 'scopes' | 'ipAllowlist' | 'rateLimitPerSecond'>, input: NewApiKey, tenantRatePerSecond: number): ReturnType<typeof validateNewApiKey> {
  const requested = validateNewApiKey(input);

  const extraScopes = requested.scopes.filter((scope: Scope) => !minter.scopes.includes(scope));
  if (extraScopes.length > 0) {
    throw new KeyEscalationError('scopes', `A key can only create keys with scopes it has itself; this one lacks ${extraScopes.map((scope) => scope.toUpperCase()).join(', ')}.`);
  }

  if (minter.ipAllowlist.length > 0) {
    const own = minter.ipAllowlist.map((entry) => ({ entry, range: rangeOf(entry) }));
    if (requested.ipAllowlist.length === 0) {
      throw new KeyEscalationError('ipAllowlist', `This key may only be used from ${minter.ipAllowlist.join(', ')}, so a key it creates needs an ipAllowlist within those ranges.`);
    }
    for (const entry of requested.ipAllowlist) {
      const range = rangeOf(entry);
      if (!own.some((outer) => outer.range.first <= range.first && range.last <= outer.range.last)) {
        throw new KeyEscalationError('ipAllowlist', `ipAllowlist entry ${entry} is not inside this key's own allowlist (${minter.ipAllowlist.join(', ')}).`);
      }
    }
  }

  const rate = requested.rateLimitPerSecond;
  if (rate !== null && rate > tenantRatePerSecond) {
    throw new KeyEscalationError('rateLimitPerSecond', `rateLimitPerSecond ${rate} is above the tenant's limit of ${tenantRatePerSecond} requests per second.`);
  }
  const ownRate = minter.rateLimitPerSecond;
  if (ownRate !== null && (rate ?? tenantRatePerSecond) > ownRate) {
    throw new KeyEscalationError(
      'rateLimitPerSecond',
      rate === null
        ? `This key is limited to ${ownRate} requests per second, so a key it creates needs a rateLimitPerSecond of at most ${ownRate} (without one it would run at the tenant's ${tenantRatePerSecond}).`
        : `rateLimitPerSecond ${rate} is above this key's own limit of ${ownRate} requests per second.`,
    );
  }
  return requested;
}

/** A normalized CIDR as the first and last address, 32 hex digits each: compared as strings. */
function rangeOf(cidr: string): { first: string; last: string } {
  const [first = '', last = ''] = allowlistRanges([cidr]).split('-');
  return { first, last };
}
