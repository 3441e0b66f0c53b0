import path from 'node:path';
import { BUDGET_LUA, GCRA_LUA } from '@onceql/ratelimit';
import { arrayReply, CLOCK_LUA, defineScript, hashReply, integerReply, readLua, ScriptReplyError } from '@onceql/redis-script';

/** auth's Lua files: src/auth/scripts/ (dist/src/auth/scripts/ once built; the build copies them). */
function authLua(file: string): string {
  return readLua(path.join(__dirname, 'scripts', file));
}

/** Status codes of admit.lua, shared with its Lua (`local ADMITTED = 1`…). */
export const ADMIT_STATUS = { UNAUTHENTICATED: 0, ADMITTED: 1, RATE_LIMITED: 2, COST_THROTTLED: 3, FORBIDDEN_IP: 4 } as const;

export type AdmitReply =
  | { readonly status: typeof ADMIT_STATUS.UNAUTHENTICATED }
  | {
      readonly status: Exclude<(typeof ADMIT_STATUS)[keyof typeof ADMIT_STATUS], typeof ADMIT_STATUS.UNAUTHENTICATED>;
      /** The key's stored record (HGETALL), for the caller to re-check the hash and build the principal. */
      readonly record: Record<string, string>;
      readonly ratePerSecond: number;
      readonly remaining: number;
      readonly resetMs: number;
      readonly costAvailable: number;
      readonly retryAfterMs: number;
    };

function integer(script: string, value: unknown, what: string): number {
  if (typeof value !== 'number') throw new ScriptReplyError(script, `${what}: wanted an integer`);
  return value;
}

/**
 * admit.lua composed with @onceql/ratelimit's fragments (GCRA_LUA, BUDGET_LUA: the package's
 * composition point) on Redis time (CLOCK_LUA): authenticate, allowlist, rate limit and cost
 * budget in one script, one round trip.
 */
export const admitScript = defineScript({
  name: 'admit',
  source: [CLOCK_LUA, GCRA_LUA, BUDGET_LUA, authLua('admit.lua')],
  keys: ['apiKey', 'tenantRate', 'keyRate', 'tenantCost'],
  args: ['keyHash', 'clientIp', 'charge', 'ratePerSecond', 'burst', 'cost', 'costBudget', 'costRestore'],
  constants: ADMIT_STATUS,
  decode(reply: unknown): AdmitReply {
    const [status, record, rate, remaining, resetMs, costAvailable, retryAfterMs] = arrayReply('admit', reply, 7);
    switch (status) {
      case ADMIT_STATUS.UNAUTHENTICATED:
        return { status };
      case ADMIT_STATUS.ADMITTED:
      case ADMIT_STATUS.RATE_LIMITED:
      case ADMIT_STATUS.COST_THROTTLED:
      case ADMIT_STATUS.FORBIDDEN_IP:
        return {
          status,
          record: hashReply(record) ?? {},
          ratePerSecond: integer('admit', rate, 'rate'),
          remaining: integer('admit', remaining, 'remaining'),
          resetMs: integer('admit', resetMs, 'resetMs'),
          costAvailable: integer('admit', costAvailable, 'costAvailable'),
          retryAfterMs: integer('admit', retryAfterMs, 'retryAfterMs'),
        };
      default:
        throw new ScriptReplyError('admit', `status ${String(status)}`);
    }
  },
});

/** Status codes of create_tenant.lua. */
export const CREATE_TENANT_STATUS = { CREATED: 1, EXISTS: 2 } as const;

/** create_tenant.lua: a tenant and its first key together. `createTenant` is WAITed on (ACKNOWLEDGED_SCRIPTS). */
export const createTenantScript = defineScript({
  name: 'createTenant',
  source: [CLOCK_LUA, authLua('create_tenant.lua')],
  keys: ['tenant', 'apiKey', 'apiKeys'],
  args: ['tenantId', 'name', 'keyId', 'keyName', 'prefix', 'hash', 'scopes', 'ipAllowlist', 'ipRanges', 'rateLimitPerSecond'],
  constants: CREATE_TENANT_STATUS,
  decode(reply: unknown): { readonly created: true; readonly createdAtMs: number } | { readonly created: false } {
    const [status, createdAtMs] = arrayReply('createTenant', reply, 1);
    if (status === CREATE_TENANT_STATUS.EXISTS) return { created: false };
    if (status === CREATE_TENANT_STATUS.CREATED) return { created: true, createdAtMs: integerReply('createTenant', createdAtMs) };
    throw new ScriptReplyError('createTenant', `status ${String(status)}`);
  },
});

/** Status codes of record_auth_failure.lua. */
export const AUTH_FAILURE_STATUS = { THROTTLED: 0, COUNTED: 1 } as const;

/** record_auth_failure.lua: one failed authentication against the address's allowance (GCRA on Redis time). */
export const recordAuthFailureScript = defineScript({
  name: 'recordAuthFailure',
  source: [CLOCK_LUA, authLua('record_auth_failure.lua')],
  keys: ['throttle'],
  args: ['failuresPerMinute'],
  constants: AUTH_FAILURE_STATUS,
  decode(reply: unknown): { readonly throttled: boolean; readonly retryAfterMs: number } {
    const [status, retryAfterMs] = arrayReply('recordAuthFailure', reply, 2);
    if (status === AUTH_FAILURE_STATUS.COUNTED) return { throttled: false, retryAfterMs: 0 };
    if (status === AUTH_FAILURE_STATUS.THROTTLED) return { throttled: true, retryAfterMs: integerReply('recordAuthFailure', retryAfterMs) };
    throw new ScriptReplyError('recordAuthFailure', `status ${String(status)}`);
  },
});

/** The auth scripts, for registries that map a script's SHA to its name. */
export const AUTH_SCRIPTS = [admitScript, createTenantScript, recordAuthFailureScript] as const;
