import path from 'node:path';
import { callScript, defineScript, readLua, useScriptMiddleware } from '@onceql/redis-script';
import type { AnyScript } from '@onceql/redis-script';
import type { RedisClient } from './client';

/**
 * The one registry of Lua scripts. Each entry names its file (relative to `src/`), how many KEYS
 * it takes (`variadic`: any number, passed first as a count) and the fragments it includes.
 */
export const SCRIPTS = {
  loadHashes: { file: 'redis/scripts/load_hashes.lua', keys: 'variadic' },
} as const satisfies Record<string, { file: string; keys: number | 'variadic'; include?: readonly string[] }>;

export type ScriptName = keyof typeof SCRIPTS;

/** `src/` when run by ts-jest, `dist/src/` when compiled (the build copies the .lua files there). */
const SOURCE_ROOT = path.resolve(__dirname, '..');

const defined = new Map<ScriptName, AnyScript>();

/** A registry entry as a {@link defineScript} script (positional keys, raw reply). */
export function scriptOf(name: ScriptName): AnyScript {
  let script = defined.get(name);
  if (script === undefined) {
    const entry: { file: string; include?: readonly string[] } = SCRIPTS[name];
    const files = [...(entry.include ?? []), entry.file];
    script = defineScript({
      name,
      source: files.map((file) => readLua(path.join(SOURCE_ROOT, file))),
      keys: 'variadic',
      args: [],
      decode: (reply: unknown) => reply,
    });
    defined.set(name, script);
  }
  return script;
}

export function scriptSource(name: ScriptName): string {
  return scriptOf(name).lua;
}

/** Wraps every script call of one client: times it, counts its failures, traces it (observability). */
export type ScriptObserver = <T>(name: string, run: () => Promise<T>) => Promise<T>;

/** Has every script call made through `client` go through `observer`. */
export function observeScripts(client: RedisClient, observer: ScriptObserver): void {
  useScriptMiddleware(client, (script, _call, next) => observer(script.name, next));
}

/**
 * Runs a registered script (EVALSHA, falling back to EVAL once). The raw reply is returned for
 * the caller's store to decode; scripts reply with status codes, never messages.
 */
export function runScript(client: RedisClient, name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  const expected = SCRIPTS[name].keys;
  if (expected !== 'variadic' && keys.length !== expected) {
    throw new TypeError(`script ${name} takes ${expected} keys, got ${keys.length}`);
  }
  return callScript(client, scriptOf(name), { keys, args });
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
