import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RedisClient } from './client';

/** Lua building blocks that a script can include (put in front of its own source). */
const ATOMIC_IDEMPOTENCY = 'idempotency/scripts/atomic.lua';

/**
 * The one registry of Lua scripts. Each entry names its file (relative to `src/`), how many KEYS
 * it takes (`variadic`: any number, passed first as a count) and the fragments it includes.
 */
export const SCRIPTS = {
  createTenant: { file: 'auth/scripts/create_tenant.lua', keys: 3 },
  createApiKey: { file: 'auth/scripts/create_api_key.lua', keys: 5, include: [ATOMIC_IDEMPOTENCY] },
  revokeApiKey: { file: 'auth/scripts/revoke_api_key.lua', keys: 3, include: [ATOMIC_IDEMPOTENCY] },
  recordAuthFailure: { file: 'auth/scripts/record_auth_failure.lua', keys: 1 },
  admit: { file: 'auth/scripts/admit.lua', keys: 4, include: ['ratelimit/scripts/limits.lua'] },
  refundCost: { file: 'ratelimit/scripts/refund_cost.lua', keys: 1, include: ['ratelimit/scripts/limits.lua'] },
  createAccount: { file: 'ledger/scripts/create_account.lua', keys: 5, include: [ATOMIC_IDEMPOTENCY] },
  createTransfer: { file: 'ledger/scripts/create_transfer.lua', keys: 9, include: [ATOMIC_IDEMPOTENCY] },
  loadHashes: { file: 'redis/scripts/load_hashes.lua', keys: 'variadic' },
  claimIdempotencyKey: { file: 'idempotency/scripts/claim.lua', keys: 3 },
  completeIdempotencyKey: { file: 'idempotency/scripts/complete.lua', keys: 1 },
  releaseIdempotencyKey: { file: 'idempotency/scripts/release.lua', keys: 1 },
} as const satisfies Record<string, { file: string; keys: number | 'variadic'; include?: readonly string[] }>;

export type ScriptName = keyof typeof SCRIPTS;

/** `src/` when run by ts-jest, `dist/src/` when compiled (the build copies the .lua files there). */
const SOURCE_ROOT = path.resolve(__dirname, '..');

const sources = new Map<ScriptName, string>();

export function scriptSource(name: ScriptName): string {
  let source = sources.get(name);
  if (source === undefined) {
    const script: { file: string; include?: readonly string[] } = SCRIPTS[name];
    const files = [...(script.include ?? []), script.file];
    source = files.map((file) => readFileSync(path.join(SOURCE_ROOT, file), 'utf8')).join('\n');
    sources.set(name, source);
  }
  return source;
}

export function registerScripts(client: RedisClient): void {
  for (const name of Object.keys(SCRIPTS) as ScriptName[]) {
    const { keys } = SCRIPTS[name];
    client.defineCommand(name, {
      lua: scriptSource(name),
      ...(keys === 'variadic' ? {} : { numberOfKeys: keys }),
    });
  }
}

type ScriptCommand = (...args: (string | number)[]) => Promise<unknown>;

/** Wraps every script call of one client: times it, counts its failures, traces it (observability). */
export type ScriptObserver = <T>(name: ScriptName, run: () => Promise<T>) => Promise<T>;

const observers = new WeakMap<RedisClient, ScriptObserver>();

/** Has every script call made through `client` go through `observer`. */
export function observeScripts(client: RedisClient, observer: ScriptObserver): void {
  observers.set(client, observer);
}

/**
 * Runs a registered script (EVALSHA, falling back to EVAL once per connection). The raw reply is
 * returned for the caller's store to decode; scripts reply with status codes, never messages.
 */
export function runScript(client: RedisClient, name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  const expected = SCRIPTS[name].keys;
  if (expected !== 'variadic' && keys.length !== expected) {
    throw new TypeError(`script ${name} takes ${expected} keys, got ${keys.length}`);
  }
  // defineCommand adds the method at run time; ioredis cannot type it.
  const command = (client as unknown as Record<ScriptName, ScriptCommand>)[name];
  const run = () => (expected === 'variadic' ? command.call(client, keys.length, ...keys, ...args) : command.call(client, ...keys, ...args));
  const observer = observers.get(client);
  return observer === undefined ? run() : observer(name, run);
}

/** Turns the flat [field, value, field, value] reply of HGETALL inside Lua into a record. */
export function pairsToRecord(reply: unknown): Record<string, string> | null {
  if (!Array.isArray(reply) || reply.length === 0) return null;
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) record[String(reply[i])] = String(reply[i + 1]);
  return record;
}

/** Loads many hashes of one tenant in one command (one round trip, one slot). */
export async function loadHashes(client: RedisClient, keys: readonly string[]): Promise<(Record<string, string> | null)[]> {
  if (keys.length === 0) return [];
  const reply = await runScript(client, 'loadHashes', keys, []);
  if (!Array.isArray(reply) || reply.length !== keys.length) throw new Error('loadHashes: unexpected reply');
  return reply.map(pairsToRecord);
}
