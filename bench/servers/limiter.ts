import 'reflect-metadata';
import { Redis } from 'ioredis';
import { RateLimiter } from '@onceql/ratelimit';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { ALL_SCOPES } from '../../src/auth/api-key';
import { AuthStore } from '../../src/auth/store';
import { redisUrlArgument, result, serveParent } from '../child';

/**
 * A limiter head to head, no HTTP, one process per limiter on its own redis-server.
 * argv: <redis-url> <mode> <seconds> <rate> <burst>; modes:
 *   onceql        @onceql/ratelimit's RateLimiter: GCRA on Redis time, one key, one decision
 *   flexible      rate-limiter-flexible's RateLimiterRedis (fixed window): one key, one decision
 *   onceql-admit  onceql's admit script, what every onceql request pays: authenticate the api key
 *                 (HGETALL), the allowlist, GCRA and the cost budget, in one script
 * Measured:
 *   decisionsPerSecond    50 callers in a loop, a limit no caller meets
 *   cpuMicrosPerDecision  this process's CPU (user + system) per decision in that loop
 *   commandsPerDecision   Redis commands sent per decision in that loop (round trips)
 *   maxInAnySecond        8 callers in a loop against `rate`/s (burst `burst`), for `seconds`:
 *                         the most admitted decisions in any second, counted soundly: those
 *                         sent at or after a decision's send time and answered within 1 s of it
 *                         were all decided by Redis within that second (network delays can only
 *                         hide admissions from the count, never add any); `bound` is
 *                         rate · 1 s + burst, what GCRA may admit in any second
 */
type Decide = () => Promise<boolean>;

let commands = 0;

interface Admitted {
  readonly sent: number;
  readonly answered: number;
}

async function loop(decide: Decide, workers: number, seconds: number): Promise<{ decisions: number; admitted: Admitted[]; cpuMicros: number }> {
  const until = performance.now() + seconds * 1000;
  let decisions = 0;
  const admitted: Admitted[] = [];
  const cpuBefore = process.cpuUsage();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < until) {
        const sent = performance.now();
        const allowed = await decide();
        decisions += 1;
        if (allowed) admitted.push({ sent, answered: performance.now() });
      }
    }),
  );
  const cpu = process.cpuUsage(cpuBefore);
  return { decisions, admitted, cpuMicros: cpu.user + cpu.system };
}

/**
 * The most admitted decisions surely made within one window of `windowMs`: for each admitted
 * decision's send time s, those sent at or after s and answered by s + windowMs.
 */
function maxInWindow(admitted: readonly Admitted[], windowMs: number): number {
  const bySent = [...admitted].sort((a, b) => a.sent - b.sent);
  let best = 0;
  for (let start = 0; start < bySent.length; start++) {
    const from = bySent[start]?.sent ?? 0;
    let inside = 0;
    for (let k = start; k < bySent.length && (bySent[k]?.sent ?? Infinity) <= from + windowMs; k++) {
      if ((bySent[k]?.answered ?? Infinity) <= from + windowMs) inside += 1;
    }
    best = Math.max(best, inside);
  }
  return best;
}

async function deciders(mode: string, redis: Redis, rate: number, burst: number): Promise<{ unlimited: Decide; limited: Decide }> {
  switch (mode) {
    case 'onceql': {
      const fast = new RateLimiter(redis, { ratePerSecond: 1_000_000, burst: 1_000_000, prefix: 'fast:' });
      const slow = new RateLimiter(redis, { ratePerSecond: rate, burst, prefix: 'slow:' });
      return { unlimited: async () => (await fast.consume('tenant')).allowed, limited: async () => (await slow.consume('tenant')).allowed };
    }
    case 'onceql-admit': {
      const auth = new AuthStore(redis);
      const tenant = await auth.createTenant('limiter');
      const fast = await auth.createApiKey(tenant.id, { name: 'fast', scopes: ALL_SCOPES });
      const other = await auth.createTenant('limited');
      const slow = await auth.createApiKey(other.id, { name: 'slow', scopes: ALL_SCOPES });
      const limits = { charge: true, cost: 0, costBudget: 1_000_000, costRestorePerSecond: 1_000_000 };
      return {
        unlimited: async () => (await auth.admit(fast.secret ?? '', '127.0.0.1', { ...limits, ratePerSecond: 1_000_000, burst: 1_000_000 })).status === 'admitted',
        limited: async () => (await auth.admit(slow.secret ?? '', '127.0.0.1', { ...limits, ratePerSecond: rate, burst })).status === 'admitted',
      };
    }
    case 'flexible': {
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
      return { unlimited: consume(fast), limited: consume(slow) };
    }
    default:
      throw new Error(`bench limiter: unknown mode ${mode}`);
  }
}

async function main(): Promise<void> {
  const url = redisUrlArgument();
  const [mode = 'onceql', secondsText = '1', rateText = '100', burstText = '20'] = process.argv.slice(3);
  const seconds = Number(secondsText);
  const rate = Number(rateText);
  const burst = Number(burstText);
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  // Counts every command sent (ioredis routes all of them through sendCommand).
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = (...args: Parameters<Redis['sendCommand']>) => {
    commands += 1;
    return send(...args);
  };
  serveParent(async () => redis.disconnect());

  const { unlimited, limited } = await deciders(mode, redis, rate, burst);
  // Loads the scripts and warms the JIT: the measured loops start on EVALSHA.
  await loop(unlimited, 50, Math.min(0.5, seconds / 2));
  const commandsBefore = commands;
  const throughput = await loop(unlimited, 50, seconds);
  const commandsPerDecision = (commands - commandsBefore) / throughput.decisions;
  const windowed = await loop(limited, 8, Math.max(seconds, 1.2));
  result({
    decisionsPerSecond: throughput.decisions / seconds,
    cpuMicrosPerDecision: throughput.cpuMicros / throughput.decisions,
    commandsPerDecision,
    maxInAnySecond: maxInWindow(windowed.admitted, 1000),
    bound: rate + burst,
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench limiter: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
