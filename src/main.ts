import 'reflect-metadata';
import { AuthStore } from './auth/store';
import { ensureDevTenant } from './auth/dev-tenant';
import { ConfigError, loadConfig } from './config';
import { createLogger, startTracing } from './observability';
import type { Tracing } from './observability';
import { openRedis } from './redis/connect';
import { RedisServerMissingError } from './redis/managed';
import { createServer } from './server';

/** start: config → Redis (embedded unless REDIS_URL) → server → listen; stops cleanly on signals. */
async function main(): Promise<void> {
  const config = loadConfig();
  // Readable lines for a developer at a terminal; JSON lines everywhere else.
  const logger = createLogger({ level: config.logLevel, pretty: config.nodeEnv === 'development' && process.stderr.isTTY === true });
  // Before anything makes a request: the SDK must be registered for spans to be recorded.
  const tracing: Tracing | undefined = config.observability.tracing ? await startTracing({ serviceName: config.observability.serviceName }) : undefined;
  const redis = await openRedis(config, logger);

  // The development key exists for the embedded development Redis only; with an external Redis,
  // keys are made with the admin CLI. Even then, only a browser on this machine sees it in Sandbox.
  let devApiKey: string | undefined;
  if (!config.production && redis.managed) {
    try {
      const dev = await ensureDevTenant(new AuthStore(redis.client), config.dataDir);
      devApiKey = dev.apiKey;
    } catch (error) {
      logger.warn('could not set up the development tenant', { error });
    }
  }

  const server = createServer(config, { redis: redis.client, logger, devApiKey });
  let address;
  try {
    address = await server.listen(config.port, config.host);
  } catch (error) {
    await redis.close();
    throw error;
  }
  const url = `http://${config.host}:${address.port}/graphql`;
  const metrics = server.metricsAddress();
  logger.info('onceql is listening', { url, redis: redis.managed ? 'embedded' : 'external', metrics: metrics === null ? 'off' : `http://${config.observability.metricsHost}:${metrics.port}/metrics`, tracing: config.observability.tracing ? 'otlp' : 'off' });
  process.stdout.write(`onceql listening on ${url}\n`);
  if (devApiKey !== undefined) process.stdout.write(`development api key: ${devApiKey}\n`);

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down: draining requests', { signal });
    const force = setTimeout(() => {
      logger.error('shutdown took over 15 s; exiting');
      void redis.close().finally(() => process.exit(1));
    }, 15_000);
    force.unref();
    server
      .stop()
      .catch((error: unknown) => logger.error('error while stopping the server', { error }))
      .then(() => redis.close())
      .then(() => tracing?.shutdown())
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error('error while closing Redis', { error });
        process.exit(1);
      });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof RedisServerMissingError) {
    process.stderr.write(`onceql: ${error.message}\n`);
  } else {
    process.stderr.write(`onceql: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
