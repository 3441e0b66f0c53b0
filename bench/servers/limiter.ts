import 'reflect-metadata';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { ALL_SCOPES } from '../../src/auth/api-key';
import { AuthStore } from '../../src/auth/store';
import { countCommands, redisUrlArgument, result, serveParent } from '../child';

/**
 * A limiter head to head, no HTTP: `onceql` is the admit script (authenticate the key, GCRA on
 * Redis time, cost budget: what every onceql request pays), `flexible` is rate-limiter-flexible's
 * RateLimiterRedis (fixed window). argv: <redis-url> <onceql|flexible> <seconds> <rate> <burst>.
 *   decisionsPerSecond  50 callers in a loop, a limit no caller meets
 *   maxInAnySecond      8 callers in a loop against `rate`/s (burst `burst`), for `seconds`:
 *                       the most admitted decisions in any sliding second, by the time they came back
 */
type Decide = () => Promise<boolean>;

async function loop(decide: Decide, workers: number, seconds: number): Promise<{ decisions: number; admittedAt: number[] }> {
  const until = performance.now() + seconds * 1000;
  let decisions = 0;
  const admittedAt: number[] = [];
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < until) {
        const admitted = await decide();
        decisions += 1;
        if (admitted) admittedAt.push(performance.now());
      }
    }),
  );
  return { decisions, admittedAt };
}

/** The most timestamps (ms) inside any window of `windowMs`. */
function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let end = 0, start = 0; end < sorted.length; end++) {
    while ((sorted[end] ?? 0) - (sorted[start] ?? 0) >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

async function main(): Promise<void> {
  const url = redisUrlArgument();
  const [mode = 'onceql', secondsText = '1', rateText = '100', burstText = '20'] = process.argv.slice(3);
  const seconds = Number(secondsText);
  const rate = Number(rateText);
  const burst = Number(burstText);
  const redis = countCommands(new Redis(url, { maxRetriesPerRequest: 1 }));
  serveParent(async () => redis.disconnect());

  let unlimited: Decide;
  let limited: Decide;
  if (mode === 'onceql') {
    const auth = new AuthStore(redis);
    const tenant = await auth.createTenant('limiter');
    const fast = await auth.createApiKey(tenant.id, { name: 'fast', scopes: ALL_SCOPES });
    const other = await auth.createTenant('limited');
    const slow = await auth.createApiKey(other.id, { name: 'slow', scopes: ALL_SCOPES });
    const limits = { charge: true, cost: 0, costBudget: 1_000_000, costRestorePerSecond: 1_000_000 };
    unlimited = async () => (await auth.admit(fast.secret ?? '', '127.0.0.1', { ...limits, ratePerSecond: 1_000_000, burst: 1_000_000 })).status === 'admitted';
    limited = async () => (await auth.admit(slow.secret ?? '', '127.0.0.1', { ...limits, ratePerSecond: rate, burst })).status === 'admitted';
  } else {
    const fast = new RateLimiterRedis({ storeClient: redis, keyPrefix: 'fast', points: 1_000_000, duration: 1 });
    const slow = new RateLimiterRedis({ storeClient: redis, keyPrefix: 'slow', points: rate, duration: 1 });
    const consume = (limiter: RateLimiterRedis) => () =>
      limiter.consume('tenant').then(
        () => true,
        (refusal: unknown) => {
          if (refusal instanceof Error) throw refusal;
          return false;
        },
      );
    unlimited = consume(fast);
    limited = consume(slow);
  }
  const throughput = await loop(unlimited, 50, seconds);
  const windowed = await loop(limited, 8, Math.max(seconds, 1.2));
  result({ decisionsPerSecond: throughput.decisions / seconds, maxInAnySecond: maxInWindow(windowed.admittedAt, 1000), bound: rate + burst });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench limiter: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
