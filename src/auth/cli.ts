import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config';
import { createLogger } from '../log';
import { openRedis } from '../redis/connect';
import { ALL_SCOPES } from './api-key';
import { AuthStore } from './store';

const USAGE = `usage: npm run --silent admin -- <command> [options]

commands:
  create-tenant --name <name>   create a tenant and an api key with read, write and admin scopes;
                                prints {"tenantId": "...", "apiKey": "..."}

Uses REDIS_URL (and REDIS_CLUSTER), or the embedded Redis under DATA_DIR when REDIS_URL is unset.
Output is one JSON object on stdout; diagnostics go to stderr.`;

class UsageError extends Error {}

async function run(argv: string[]): Promise<unknown> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') throw new UsageError('');
  if (command !== 'create-tenant') throw new UsageError(`unknown command "${command}"`);
  const { values } = parseArgs({ args: rest, options: { name: { type: 'string' } }, strict: true });
  const name = values.name?.trim();
  if (!name) throw new UsageError('create-tenant needs --name <name>');

  const config = loadConfig();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
  const redis = await openRedis(config, logger, { reuseRunning: true });
  try {
    const auth = new AuthStore(redis.client);
    const tenant = await auth.createTenant(name);
    const { secret } = await auth.createApiKey(tenant.id, { name: `${name} admin key`, scopes: ALL_SCOPES });
    return { tenantId: tenant.id, apiKey: secret };
  } finally {
    await redis.close();
  }
}

run(process.argv.slice(2)).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message ? `onceql admin: ${error.message}\n\n` : ''}${USAGE}\n`);
      process.exit(2);
    }
    const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error);
    process.stderr.write(`onceql admin: ${message}\n`);
    process.exit(1);
  },
);
