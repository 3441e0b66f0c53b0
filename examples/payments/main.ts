import 'reflect-metadata';
import { createRedisClient, waitForRedis } from '../../src/redis/client';
import { createPaymentsServer } from './server';

/**
 * Starts the payments example: `node dist/examples/payments/main.js` after `npm run build`.
 *
 *   REDIS_URL                (required) redis://, rediss:// or unix:// URL
 *   PAYMENTS_NETWORK_URL     (required) base URL of the payment network
 *   PORT (4100) · HOST (127.0.0.1) · IDEMPOTENCY_TTL_SECONDS (86400) · IDEMPOTENCY_LEASE_MS (10000)
 *   IDEMPOTENCY_WAIT_MS (5000)
 *
 * Prints `payments listening on <url>` once it serves; stops cleanly on SIGTERM and SIGINT.
 */

class SettingError extends Error {}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new SettingError(`${name} is required`);
  return value;
}

function integer(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^[0-9]+$/.test(raw) || value < min || value > max) throw new SettingError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return value;
}

async function main(): Promise<void> {
  const settings = {
    redisUrl: required('REDIS_URL'),
    networkUrl: required('PAYMENTS_NETWORK_URL'),
    port: integer('PORT', 4100, 0, 65_535),
    host: process.env.HOST || '127.0.0.1',
    ttlSeconds: integer('IDEMPOTENCY_TTL_SECONDS', 86_400, 1, 31_536_000),
    leaseMs: integer('IDEMPOTENCY_LEASE_MS', 10_000, 1, 3_600_000),
    waitMs: integer('IDEMPOTENCY_WAIT_MS', 5_000, 0, 600_000),
  };
  const redis = createRedisClient({ url: settings.redisUrl });
  await waitForRedis(redis, 5_000);
  const server = createPaymentsServer({ redis, ...settings });
  const address = await server.listen(settings.port, settings.host);
  process.stdout.write(`payments listening on http://${settings.host}:${address.port}/graphql\n`);

  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    server
      .stop()
      .then(() => redis.quit())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          console.error('payments: shutdown failed', error);
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`payments: ${error instanceof SettingError ? error.message : String(error)}\n`);
  process.exit(1);
});
