import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AccountsDocument, ViewerDocument } from '../generated/graphql';
import { ledgerClient } from '../helpers/ledger';
import { processAlive } from '../../src/redis/managed';
import { gql, testRedisUrl } from '../helpers/server';

// These tests run the real entry points (dist/, built by the global setup) as child processes.
const ROOT = path.resolve(__dirname, '../..');
const MAIN = path.join(ROOT, 'dist/src/main.js');

interface Started {
  child: ChildProcess;
  url: string;
  devApiKey: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startMain(dataDir: string, env: Record<string, string> = {}): Promise<Started> {
  const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', ...env };
  const child = spawn(process.execPath, [MAIN], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`main did not start: ${stderr}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const url = /listening on (\S+)/.exec(stdout)?.[1];
      const devApiKey = /development api key: (\S+)/.exec(stdout)?.[1];
      if (url !== undefined && devApiKey !== undefined) {
        clearTimeout(timer);
        resolve({ child, url, devApiKey, stderr: () => stderr, exited });
      }
    });
    void exited.then((code) => reject(new Error(`main exited with ${code}: ${stderr}`)));
  });
}

describe('npm start (dist/src/main.js) with the embedded Redis', () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'onceql-main-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('prints a dev key, serves the ledger, stops cleanly on SIGTERM and keeps the data', async () => {
    const first = await startMain(dataDir);
    const client = ledgerClient(first.url, first.devApiKey);
    const funding = await client.account('Funding', 'EUR', true);
    const alice = await client.account('Alice');
    expect((await client.transfer(funding, alice, '1050')).status).toBe(200);
    const redisPid = Number(readFileSync(path.join(dataDir, 'redis.pid'), 'utf8'));
    expect(processAlive(redisPid)).toBe(true);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(processAlive(redisPid)).toBe(false); // the embedded redis-server went with it

    const second = await startMain(dataDir);
    try {
      expect(second.devApiKey).toBe(first.devApiKey);
      const accounts = await gql(second.url, AccountsDocument, {}, { 'api-key': second.devApiKey });
      expect(accounts.body.data?.accounts.edges.map((edge) => [edge.node.name, edge.node.balance])).toEqual([
        ['Funding', '-1050'],
        ['Alice', '1050'],
      ]);
    } finally {
      second.child.kill('SIGINT');
      expect(await second.exited).toBe(0);
    }
  });

  it('after a SIGKILL, the next start takes over the orphaned redis-server and loses nothing', async () => {
    const first = await startMain(dataDir);
    const client = ledgerClient(first.url, first.devApiKey);
    await client.account('Survivor');
    const orphan = Number(readFileSync(path.join(dataDir, 'redis.pid'), 'utf8'));
    first.child.kill('SIGKILL');
    await first.exited;
    expect(processAlive(orphan)).toBe(true);

    const second = await startMain(dataDir);
    try {
      expect(processAlive(orphan)).toBe(false);
      const accounts = await gql(second.url, AccountsDocument, { first: 100 }, { 'api-key': second.devApiKey });
      expect(accounts.body.data?.accounts.edges.map((edge) => edge.node.name)).toContain('Survivor');
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });

  it('refuses a bad setting with one line naming it', () => {
    const result = spawnSync(process.execPath, [MAIN], { env: { PATH: process.env.PATH, PORT: 'eighty' }, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('PORT');
  });

  it('starts with an external Redis that is down, answering 503 until it is back', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'onceql-ext-'));
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', REDIS_URL: `unix://${dir}/nothing.sock`, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let stdout = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const match = /listening on (\S+)/.exec(stdout);
          if (match?.[1]) resolve(match[1]);
        });
        void exited.then((code) => reject(new Error(`exited ${code}`)));
      });
      expect((await fetch(url.replace('/graphql', '/readyz'))).status).toBe(503);
      const response = await gql(url, ViewerDocument, {}, { 'api-key': 'oq_aaaa_bbbb_' + 'c'.repeat(43) });
      expect(response.status).toBe(503);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('admin CLI', () => {
  it('`npm run --silent admin -- create-tenant` prints exactly one JSON object', () => {
    const result = spawnSync('npm', ['run', '--silent', 'admin', '--', 'create-tenant', '--name', 'acme'], {
      cwd: ROOT,
      env: { ...process.env, REDIS_URL: testRedisUrl() },
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const printed = JSON.parse(lines[0] as string) as Record<string, string>;
    expect(Object.keys(printed)).toEqual(['tenantId', 'apiKey']);
    expect(printed.apiKey?.startsWith(`oq_${printed.tenantId}_`)).toBe(true);
  });

  it('the printed key authenticates against a server on the same Redis', async () => {
    const result = spawnSync('node', [path.join(ROOT, 'dist/src/admin.js'), 'create-tenant', '--name', 'acme'], {
      env: { PATH: process.env.PATH, REDIS_URL: testRedisUrl() },
      encoding: 'utf8',
    });
    const printed = JSON.parse(result.stdout) as { tenantId: string; apiKey: string };
    const { startTestServer } = await import('../helpers/server');
    const server = await startTestServer();
    try {
      const viewer = await gql(server.url, ViewerDocument, {}, { 'api-key': printed.apiKey });
      expect(viewer.body.data?.viewer.tenant).toEqual({ id: printed.tenantId, name: 'acme' });
    } finally {
      await server.stop();
    }
  });

  it('create-key, list-keys and revoke-key print JSON and never a secret after creation', () => {
    const cli = (...args: string[]) => {
      const result = spawnSync('node', [path.join(ROOT, 'dist/src/admin.js'), ...args], { env: { PATH: process.env.PATH, REDIS_URL: testRedisUrl() }, encoding: 'utf8' });
      expect([result.status, result.stderr]).toEqual([0, '']);
      expect(result.stdout.trim().split('\n')).toHaveLength(1);
      return JSON.parse(result.stdout) as unknown;
    };
    const { tenantId } = cli('create-tenant', '--name', 'keys') as { tenantId: string };
    const created = cli('create-key', '--tenant', tenantId, '--name', 'ci', '--scopes', 'read,write', '--ip-allowlist', '10.0.0.0/8,::1', '--rate-limit', '50') as {
      apiKey: { id: string; scopes: string[]; ipAllowlist: string[]; rateLimitPerSecond: number };
      secret: string;
    };
    expect(created.apiKey).toMatchObject({ scopes: ['read', 'write'], ipAllowlist: ['10.0.0.0/8', '::1/128'], rateLimitPerSecond: 50 });
    expect(created.secret.startsWith(`oq_${tenantId}_${created.apiKey.id}_`)).toBe(true);
    const listed = JSON.stringify(cli('list-keys', '--tenant', tenantId));
    expect(listed).toContain(created.apiKey.id);
    expect(listed).not.toContain(created.secret.slice(-43));
    const revoked = cli('revoke-key', '--tenant', tenantId, '--id', created.apiKey.id) as { apiKey: { revokedAt: string | null } };
    expect(revoked.apiKey.revokedAt).not.toBeNull();
  });

  it('explains its usage on a bad call, printing nothing on stdout', () => {
    const result = spawnSync('node', [path.join(ROOT, 'dist/src/admin.js'), 'create-tenant'], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('--name');
  });

  it('without REDIS_URL uses the embedded Redis of DATA_DIR and stops it again', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'onceql-cli-'));
    try {
      const result = spawnSync('node', [path.join(ROOT, 'dist/src/admin.js'), 'create-tenant', '--name', 'local'], {
        env: { PATH: process.env.PATH, DATA_DIR: dataDir },
        encoding: 'utf8',
      });
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout)).toHaveProperty('apiKey');
      expect(existsSync(path.join(dataDir, 'appendonlydir'))).toBe(true);
      expect(existsSync(path.join(dataDir, 'redis.pid'))).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
