import path from 'node:path';
import { readLua } from '@onceql/redis-script';

/**
 * The composition point. Lua building blocks for a script of your own that must decide a rate
 * limit or a cost budget in the same round trip as its own work (onceql's admit script
 * authenticates an api key, then calls both): put them in a `defineScript` source, after
 * `CLOCK_LUA` of @onceql/redis-script and before your own Lua, and call the functions they define.
 * Each file's header documents its functions; the package's own scripts are built the same way.
 *
 * `GCRA_LUA` defines `rl_gcra(key, ratePerSecond, burst, cost, nowMs, charge)` →
 * `allowed, remaining, resetMs, retryAfterMs` (lua/gcra.lua).
 */
export const GCRA_LUA: string = readLua(path.join(__dirname, '..', 'lua', 'gcra.lua'));

/**
 * Defines `rl_budget(key, maximum, restorePerSecond, cost, nowMs, charge)` →
 * `allowed, available, retryAfterMs` and `rl_refund(key, maximum, restorePerSecond, points, nowMs)`
 * → `available` (lua/budget.lua).
 */
export const BUDGET_LUA: string = readLua(path.join(__dirname, '..', 'lua', 'budget.lua'));

/** A script of this package: its own Lua file, read once. */
export function packageLua(file: string): string {
  return readLua(path.join(__dirname, '..', 'lua', file));
}
