import { spawn } from 'node:child_process';
import path from 'node:path';
import { gql, startTestServer, testRedisUrl } from '../helpers/server';
import { request } from './door.helpers';

/**
 * Nothing leaks: with introspection off, validation errors suggest no names; the development key
 * is in the Sandbox page only for a browser on this machine, and only with the embedded Redis.
 */

const MISSPELT = '{ viewer { tenant { nam } } }';
const DEV_KEY = 'oq_devtenant_devkey_for_sandbox_only';

describe('validation errors', () => {
  it('suggest no field names when introspection is off, while a normal client is served', async () => {
    const server = await startTestServer({ INTROSPECTION: 'false' });
    try {
      const { apiKey } = await server.newTenant();
      const [refused, normal] = await Promise.all([gql(server.url, MISSPELT, {}, { 'api-key': apiKey }), gql(server.url, '{ viewer { tenant { name } } }', {}, { 'api-key': apiKey })]);
      expect(normal.status).toBe(200);
      expect(refused.status).toBe(400);
      expect(refused.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(JSON.stringify(refused.body)).not.toMatch(/Did you mean|"name"/);
      // Arguments, enum values and types are not suggested either.
      const enumGuess = await gql(server.url, 'mutation { createApiKey(input: { name: "x", scopes: [REA] }) { secret } }', {}, { 'api-key': apiKey });
      expect(JSON.stringify(enumGuess.body)).not.toMatch(/Did you mean|READ/);
    } finally {
      await server.stop();
    }
  });

  it('still suggest them with introspection on (what the setting turns off)', async () => {
    const server = await startTestServer();
    try {
      const { apiKey } = await server.newTenant();
      const refused = await gql(server.url, MISSPELT, {}, { 'api-key': apiKey });
      expect(refused.body.errors?.[0]?.message).toMatch(/Did you mean "name"/);
    } finally {
      await server.stop();
    }
  });
});

describe('the development key in the Sandbox page', () => {
  const page = (origin: string, headers: Record<string, string> = {}) => request(origin, { path: '/graphql', headers: { accept: 'text/html', ...headers } });

  it('is shown to a browser on this machine, and to nobody coming through a proxy', async () => {
    const server = await startTestServer({ NODE_ENV: 'development', TRUST_PROXY: '1' }, undefined, DEV_KEY);
    try {
      const local = await page(server.origin);
      expect(local.status).toBe(200);
      expect(local.body).toContain('EmbeddedSandbox');
      expect(local.body).toContain(DEV_KEY);
      const proxied: Record<string, string>[] = [{ 'x-forwarded-for': '203.0.113.7' }, { 'x-forwarded-for': '127.0.0.1' }, { forwarded: 'for=203.0.113.7' }];
      for (const headers of proxied) {
        const forwarded = await page(server.origin, headers);
        expect(forwarded.status).toBe(200);
        expect(forwarded.body).toContain('EmbeddedSandbox');
        expect(forwarded.body).not.toContain(DEV_KEY);
      }
      // Another loopback address is still this machine.
      expect((await request(server.origin, { path: '/graphql', headers: { accept: 'text/html' }, localAddress: '127.0.0.2' })).body).toContain(DEV_KEY);
    } finally {
      await server.stop();
    }
  });

  it('is never put in the page by `npm start` with an external Redis', async () => {
    const main = path.resolve(__dirname, '../../dist/src/main.js');
    const child = spawn(process.execPath, [main], {
      env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', REDIS_URL: testRedisUrl(), NODE_ENV: 'development', LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let stdout = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const found = /listening on (\S+)/.exec(stdout)?.[1];
          if (found !== undefined) resolve(found);
        });
        child.once('exit', (code) => reject(new Error(`main exited with ${code}`)));
      });
      const local = await page(new URL(url).origin);
      expect(local.status).toBe(200);
      expect(local.body).toContain('EmbeddedSandbox');
      expect(local.body).not.toMatch(/oq_[a-z0-9]+_[a-z0-9]+_/);
      expect(stdout).not.toContain('development api key');
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
});
