import { LEASED_SCRIPTS } from '@onceql/idempotency';
import { consumeScript, refundBudgetScript, takeBudgetScript } from '@onceql/ratelimit';
import type { AnyScript } from '@onceql/redis-script';
import { API_KEY_SCRIPTS } from './auth/api-key-scripts';
import { AUTH_SCRIPTS } from './auth/scripts';
import { LEDGER_SCRIPTS } from './ledger/store';
import { loadHashesScript } from './redis/scripts';

/**
 * Every Lua script the app may run, wherever it is defined (a package, or beside a store): for
 * tools that name a script by its SHA (tests reading MONITOR, operators reading SLOWLOG). Add a
 * script here when you define one.
 */
export const ALL_SCRIPTS: readonly AnyScript[] = [
  ...AUTH_SCRIPTS,
  ...API_KEY_SCRIPTS,
  ...LEDGER_SCRIPTS,
  ...LEASED_SCRIPTS,
  consumeScript,
  takeBudgetScript,
  refundBudgetScript,
  loadHashesScript,
];
