import 'reflect-metadata';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './observability/logger';
import { openRedis } from './redis/connect';
import { ALL_SCOPES } from './auth/api-key';
import type { Scope } from './auth/api-key';
import { ApiKeyNotFoundError, AuthInputError } from './auth/errors';
import type { ApiKeyRecord } from './auth/store';
import { AuthStore } from './auth/store';

const USAGE = `usage: npm run --silent admin -- <command> [options]

commands:
  create-tenant --name <name>
      create a tenant and an api key with read, write and admin scopes;
      prints {"tenantId": "...", "apiKey": "..."}
  create-key --tenant <id> --name <name> --scopes read,write,admin [--ip-allowlist <cidr,...>] [--rate-limit <n>] [--publishable]
      create an api key; prints {"apiKey": {...}, "secret": "..."} (the secret is shown only here);
      a --publishable key (for browsers) runs only the documents registered with register-documents
  register-documents --tenant <id> --file <persisted-documents.json>
      register trusted documents for the tenant's publishable keys: the manifest that codegen's
      client preset writes (sha256 hash -> document text); each is checked against the schema and
      priced within QUERY_COST_MAX first; prints {"registered": n, "costs": {hash: cost}}
  revoke-key --tenant <id> --id <keyId>
      revoke a key; prints {"apiKey": {...}}
  list-keys --tenant <id>
      prints {"apiKeys": [...]}: ids, names, prefixes, scopes, allowlists, times; never a secret

Rotation: create-key, deploy the new secret, then revoke-key the old one; both work in between.
Uses REDIS_URL (and REDIS_CLUSTER), or the embedded Redis under DATA_DIR when REDIS_URL is unset.
Output is one JSON object on stdout; diagnostics go to stderr.`;

class UsageError extends Error {}

function keyJson(key: ApiKeyRecord): Record<string, unknown> {
  return {
    id: key.id,
    tenantId: key.tenantId,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    ipAllowlist: key.ipAllowlist,
    rateLimitPerSecond: key.rateLimitPerSecond,
    publishable: key.publishable === true,
    createdAt: key.createdAt.toISOString(),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
  };
}

function required(values: Record<string, string | undefined>, name: string, command: string): string {
  const value = values[name]?.trim();
  if (!value) throw new UsageError(`${command} needs --${name}`);
  return value;
}

function scopesOf(text: string): Scope[] {
  const scopes = text.split(',').map((scope) => scope.trim().toLowerCase()).filter((scope) => scope !== '');
  const unknown = scopes.filter((scope) => !(ALL_SCOPES as readonly string[]).includes(scope));
  if (unknown.length > 0) throw new UsageError(`unknown scope ${unknown.join(', ')}: use read, write, admin`);
  return scopes as Scope[];
}

async function withAuth<T>(work: (auth: AuthStore) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const redis = await openRedis(config, logger, { reuseRunning: true });
  try {
    return await work(new AuthStore(redis.client));
  } finally {
    await redis.close();
  }
}

async function run(argv: string[]): Promise<unknown> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') throw new UsageError('');
  const options = {
    name: { type: 'string' },
    tenant: { type: 'string' },
    id: { type: 'string' },
    scopes: { type: 'string' },
    'ip-allowlist': { type: 'string' },
    'rate-limit': { type: 'string' },
    publishable: { type: 'boolean' },
    file: { type: 'string' },
  } as const;
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({ args: rest, options, strict: true }).values as Record<string, string | undefined>;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  switch (command) {
    case 'create-tenant': {
      const name = required(values, 'name', command);
      return withAuth(async (auth) => {
        // One script writes both: a crash cannot leave a tenant without a key.
        const { tenant, apiKey } = await auth.createTenantWithKey(name, { name: `${name} admin key`, scopes: ALL_SCOPES });
        return { tenantId: tenant.id, apiKey: apiKey?.secret };
      });
    }
    case 'create-key': {
      const tenantId = required(values, 'tenant', command);
      const name = required(values, 'name', command);
      const scopes = scopesOf(required(values, 'scopes', command));
      const ipAllowlist = (values['ip-allowlist'] ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
      const rate = values['rate-limit'];
      if (rate !== undefined && !/^\d+$/.test(rate)) throw new UsageError('--rate-limit must be a whole number of requests per second');
      return withAuth(async (auth) => {
        if ((await auth.getTenant(tenantId)) === null) throw new Error(`tenant ${tenantId} does not exist`);
        const publishable = (values.publishable as unknown) === true;
        const created = await auth.createApiKey(tenantId, { name, scopes, ipAllowlist, rateLimitPerSecond: rate === undefined ? null : Number(rate), publishable });
        return { apiKey: keyJson(created.apiKey), secret: created.secret };
      });
    }
    case 'register-documents': {
      const tenantId = required(values, 'tenant', command);
      const file = required(values, 'file', command);
      const { checkTrustedDocuments } = await import('./admit/trusted-documents');
      const { buildLedgerSchema } = await import('./graphql/schema');
      const { DEFAULT_QUERY_LIMITS } = await import('@onceql/ratelimit');
      const manifest = JSON.parse(await readFile(file, 'utf8')) as unknown;
      const checked = checkTrustedDocuments(buildLedgerSchema(), manifest, { ...DEFAULT_QUERY_LIMITS, maxCost: loadConfig().queryCostMax });
      if (checked.problems.length > 0) throw new Error(`nothing registered: ${checked.problems.map(({ hash, problem }) => `${hash.slice(0, 12)}: ${problem}`).join('; ')}`);
      return withAuth(async (auth) => ({ registered: await auth.registerDocuments(tenantId, checked.documents), costs: Object.fromEntries(checked.costs) }));
    }
    case 'revoke-key': {
      const tenantId = required(values, 'tenant', command);
      const id = required(values, 'id', command);
      return withAuth(async (auth) => ({ apiKey: keyJson(await auth.revokeApiKey(tenantId, id)) }));
    }
    case 'list-keys': {
      const tenantId = required(values, 'tenant', command);
      return withAuth(async (auth) => ({ apiKeys: (await auth.listApiKeys(tenantId)).map(keyJson) }));
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
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
    const message = error instanceof ConfigError || error instanceof AuthInputError || error instanceof ApiKeyNotFoundError || error instanceof Error ? error.message : String(error);
    process.stderr.write(`onceql admin: ${message}\n`);
    process.exit(1);
  },
);
