import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startRedisProcess } from './redis-process';
import type { RedisProcess } from './redis-process';

declare global {
  var __ONCEQL_REDIS__: RedisProcess | undefined;
}

/**
 * One throwaway redis-server for the whole run (tests isolate by tenant or key prefix, never
 * FLUSHALL), and one build of dist/ for the tests that run the real entry points.
 */
export default async function globalSetup(): Promise<void> {
  const redis = await startRedisProcess();
  globalThis.__ONCEQL_REDIS__ = redis;
  process.env.ONCEQL_TEST_REDIS_URL = redis.url;
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: path.resolve(__dirname, '../..'), stdio: 'inherit' });
}
