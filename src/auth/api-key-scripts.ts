import path from 'node:path';
import { defineAtomicScript } from '@onceql/idempotency';
import { hashReply, integerReply, readLua, ScriptReplyError } from '@onceql/redis-script';

// createApiKey and revokeApiKey: atomic-path scripts of @onceql/idempotency (the record key and
// idempotency ARGV are put around these named KEYS and ARGV by defineAtomicScript).

function authLua(file: string): string {
  return readLua(path.join(__dirname, 'scripts', file));
}

/** Status codes of create_api_key.lua's domain reply, shared with it as constants. */
export const ApiKeyScriptStatus = { CREATED: 1, NO_TENANT: 2, ID_TAKEN: 3, TOO_MANY_KEYS: 4 } as const;

export type CreateApiKeyReply =
  | { readonly status: typeof ApiKeyScriptStatus.CREATED; readonly id: string; readonly createdAtMs: number; readonly replayed: boolean }
  | { readonly status: Exclude<(typeof ApiKeyScriptStatus)[keyof typeof ApiKeyScriptStatus], typeof ApiKeyScriptStatus.CREATED> };

export const createApiKeyScript = defineAtomicScript({
  name: 'createApiKey',
  source: authLua('create_api_key.lua'),
  keys: ['tenant', 'apiKey', 'apiKeys'],
  args: ['keyId', 'name', 'prefix', 'hash', 'scopes', 'ipAllowlist', 'ipRanges', 'rateLimitPerSecond', 'kind', 'maxKeys'],
  constants: ApiKeyScriptStatus,
  decode: (domain, _live, replayed): CreateApiKeyReply => {
    const [status, id, createdAtMs] = domain;
    const code = integerReply('createApiKey', status);
    switch (code) {
      case ApiKeyScriptStatus.CREATED:
        return { status: code, id: String(id), createdAtMs: integerReply('createApiKey', createdAtMs), replayed };
      case ApiKeyScriptStatus.NO_TENANT:
      case ApiKeyScriptStatus.ID_TAKEN:
      case ApiKeyScriptStatus.TOO_MANY_KEYS:
        return { status: code };
      default:
        throw new ScriptReplyError('createApiKey', `unknown status ${code}`);
    }
  },
});

/** Status codes of revoke_api_key.lua's domain reply, shared with it as constants. */
export const RevokeScriptStatus = { REVOKED: 1, NO_KEY: 2 } as const;

export const revokeApiKeyScript = defineAtomicScript({
  name: 'revokeApiKey',
  source: authLua('revoke_api_key.lua'),
  keys: ['apiKey'],
  args: [],
  constants: RevokeScriptStatus,
  /** The key's row as the script left it (null: no such key), read after the revocation. */
  decode: (domain, live): Record<string, string> | null => {
    const code = integerReply('revokeApiKey', domain[0]);
    if (code === RevokeScriptStatus.NO_KEY) return null;
    if (code !== RevokeScriptStatus.REVOKED) throw new ScriptReplyError('revokeApiKey', `unknown status ${code}`);
    return hashReply(live[0]);
  },
});

/** auth's atomic-path scripts, for lists of every script of the app. */
export const API_KEY_SCRIPTS = [createApiKeyScript.script, revokeApiKeyScript.script] as const;
