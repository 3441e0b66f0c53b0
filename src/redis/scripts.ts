import path from 'node:path';
import { arrayReply, defineScript, hashReply, readLua, useScriptMiddleware } from '@onceql/redis-script';
import type { RedisClient } from './client';

/**
 * load_hashes.lua: many hashes of one tenant in one command (one round trip, one slot). Every
 * other script is defined beside its store (src/auth, src/ledger) or in its package; `src/scripts.ts`
 * lists them all.
 */
export const loadHashesScript = defineScript({
  name: 'loadHashes',
  source: readLua(path.join(__dirname, 'scripts', 'load_hashes.lua')),
  keys: 'variadic',
  args: [],
  decode: (reply: unknown) => arrayReply('loadHashes', reply).map(hashReply),
});

/** Loads many hashes of one tenant in one command; null for a key that holds none. */
export async function loadHashes(client: RedisClient, keys: readonly string[]): Promise<(Record<string, string> | null)[]> {
  if (keys.length === 0) return [];
  const rows = await loadHashesScript.run(client, keys, {});
  if (rows.length !== keys.length) throw new Error('loadHashes: unexpected reply');
  return rows;
}

/** Wraps every script call of one client: times it, counts its failures, traces it (observability). */
export type ScriptObserver = <T>(name: string, run: () => Promise<T>) => Promise<T>;

/** Has every script call made through `client` go through `observer`. */
export function observeScripts(client: RedisClient, observer: ScriptObserver): void {
  useScriptMiddleware(client, (script, _call, next) => observer(script.name, next));
}
