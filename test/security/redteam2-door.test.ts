import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { tenantKeys } from '../../src/redis/keys';
import { ledgerClient } from '../helpers/ledger';
import { scrapeUntil } from '../observability/scrape';
import type { RedisProcess } from '../helpers/redis-process';
import { startRedisProcess } from '../helpers/redis-process';
import { codes, connectTestRedis, gql, startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';
import type { RawConnection } from './door.helpers';
import { connect, eventually, request } from './door.helpers';

/**
 * What a second red-team review of the HTTP door found, each attack made over real HTTP, refused,
 * and a normal client served beside it.
 */

const VIEWER = '{ viewer { tenant { id } } }';
const CREATE_ACCOUNT = 'mutation($input: CreateAccountInput!) { createAccount(input: $input) { id } }';
const statusOf = (text: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);

describe('1. bodies dribbled on many connections do not make the server shed everyone else', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ SHED_READS_IN_FLIGHT: '20', SHED_WRITES_IN_FLIGHT: '40', SHED_READS_LAG_MS: '600000', SHED_WRITES_LAG_MS: '600000' });
  });
  afterAll(() => server.stop());

  it('answers keyless ones at once, cuts made-up keys off after the body deadline, and serves another tenant meanwhile', async () => {
    const { apiKey } = await server.newTenant('victim');
    const host = new URL(server.origin).host;
    const keyless: RawConnection[] = [];
    const madeUp: RawConnection[] = [];
    // A well-formed key nobody issued: a small body is read before the key is proven.
    const madeUpKey = `${apiKey.slice(0, -4)}AAAA`;
    // 200 connections from 4 loopback addresses, 50 each (under the per-address cap of 100).
    for (let i = 0; i < 200; i++) {
      const withKey = i % 2 === 1;
      const connection = await connect(server.origin, `127.0.0.${2 + (i % 4)}`);
      const head = ['POST /graphql HTTP/1.1', `host: ${host}`, 'content-type: application/json', ...(withKey ? [`api-key: ${madeUpKey}`, 'content-length: 100'] : ['content-length: 100000'])];
      connection.socket.write(`${head.join('\r\n')}\r\n\r\n{"query":`);
      (withKey ? madeUp : keyless).push(connection);
    }
    const dribble = setInterval(() => {
      for (const connection of [...keyless, ...madeUp]) if (!connection.isClosed()) connection.socket.write(' ');
    }, 100);
    try {
      const served: number[] = [];
      const ready: number[] = [];
      // While the made-up keys' bodies are still arriving (or being cut off), the victim is served.
      await eventually(async () => {
        const created = await gql(server.url, CREATE_ACCOUNT, { input: { name: `a${served.length}`, currency: 'EUR' } }, { 'api-key': apiKey });
        served.push(created.status === 200 && codes(created).length === 0 ? 200 : created.status);
        ready.push((await request(server.origin, { path: '/readyz' })).status);
        return madeUp.every((connection) => connection.isClosed()) && keyless.every((connection) => connection.isClosed());
      }, 400);
      expect(served.length).toBeGreaterThan(0);
      expect(served.every((status) => status === 200)).toBe(true);
      expect(ready.every((status) => status === 200)).toBe(true);
      // Each attacker got its answer: 401 without a key (429 once its address is throttled), 408 for a body not whole within the deadline.
      expect(keyless.every((connection) => [401, 429].includes(statusOf(connection.received())))).toBe(true);
      expect(madeUp.map((connection) => statusOf(connection.received()))).toEqual(madeUp.map(() => 408));
    } finally {
      clearInterval(dribble);
      for (const connection of [...keyless, ...madeUp]) connection.socket.destroy();
    }
  });
});

describe('2. an internal error after the body is read', () => {
  let redisProcess: RedisProcess;
  let server: TestServer;
  let admin: Redis;
  beforeAll(async () => {
    redisProcess = await startRedisProcess();
    server = await startTestServer({}, redisProcess.url);
    admin = (await connectTestRedis(redisProcess.url)) as Redis;
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
    await redisProcess.stop();
  });

  it('is answered 500 in the one error shape and logged at error level, not as a client abort', async () => {
    const { apiKey } = await server.newTenant();
    expect((await gql(server.url, VIEWER, {}, { 'api-key': apiKey })).status).toBe(200);
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    try {
      const before = server.logger.lines.length;
      const failed = await gql(server.url, CREATE_ACCOUNT, { input: { name: 'oom', currency: 'EUR' } }, { 'api-key': apiKey });
      expect(failed.status).toBe(500);
      expect(failed.body).toEqual({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      const lines = server.logger.lines.slice(before);
      expect(lines.filter((line) => line.level === 'error').length).toBeGreaterThanOrEqual(1);
      expect(lines.filter((line) => line.code === 'CLIENT_CLOSED_REQUEST')).toEqual([]);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }
    // Served again once Redis has room.
    expect((await gql(server.url, VIEWER, {}, { 'api-key': apiKey })).status).toBe(200);
  });
});

describe('3. the development key in GraphiQL and DNS rebinding', () => {
  const DEV_KEY = 'oq_devtenant_devkey_0123456789abcdefghijklmnopqrstuvwxyz';
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ NODE_ENV: 'development', GRAPHIQL: 'true' }, undefined, DEV_KEY);
  });
  afterAll(() => server.stop());

  const page = (headers: Record<string, string> = {}) => request(server.origin, { path: '/graphiql/', headers: { accept: 'text/html', ...headers } });
  const port = () => new URL(server.origin).port;

  it('is not in the page for a browser that reached this machine under another name, and still is for loopback names', async () => {
    const attacks: Record<string, string>[] = [
      { host: `attacker.example:${port()}` },
      { host: 'attacker.example' },
      { host: `127.0.0.1.attacker.example:${port()}` },
      { host: `localhost:${port()}`, origin: 'http://attacker.example' },
      { host: `localhost:${port()}`, referer: `http://attacker.example:${port()}/x` },
      { host: `localhost:${port()}`, origin: 'null' },
      { host: `localhost:${port()}`, 'x-forwarded-for': '127.0.0.1' },
    ];
    for (const headers of attacks) {
      const answer = await page(headers);
      expect(answer.status).toBe(200);
      expect(answer.body).toContain('__ONCEQL_GRAPHIQL__');
      expect(answer.body).not.toContain(DEV_KEY);
    }
    const loopbackNames: Record<string, string>[] = [{}, { host: `localhost:${port()}` }, { host: '[::1]:1234' }, { host: `127.0.0.1:${port()}`, origin: `http://localhost:${port()}`, referer: `http://127.0.0.1:${port()}/graphiql/` }];
    for (const headers of loopbackNames) expect((await page(headers)).body).toContain(DEV_KEY);
  });
});

describe('4. a failing Redis script in the logs', () => {
  let server: TestServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startTestServer();
    redis = (await connectTestRedis()) as Redis;
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('logs neither the idempotency key nor the Lua text, in bounded lines, a few per request', async () => {
    const { tenantId, apiKey } = await server.newTenant();
    const ledger = ledgerClient(server.url, apiKey);
    const from = await ledger.account('from', 'EUR', true);
    const to = await ledger.account('to');
    // The tenant's sequence is made a hash: every script that takes a number fails with WRONGTYPE.
    const sequence = tenantKeys(tenantId).sequence;
    await redis.del(sequence);
    await redis.hset(sequence, 'x', '1');
    const before = server.logger.lines.length;
    const secret = 'SECRET-IDEM-KEY-12345';
    const failed = await ledger.transfer(from, to, '1', 'EUR', null, secret);
    expect(failed.status).toBe(500);
    expect(codes(failed)).toEqual(['INTERNAL_SERVER_ERROR']);
    // 20 failing root fields in one request.
    const fields = Array.from({ length: 20 }, (_, i) => `t${i}: createTransfer(input: $input, idempotencyKey: "${secret}-${i}") { id }`);
    const many = await gql(server.url, `mutation($input: CreateTransferInput!) { ${fields.join(' ')} }`, { input: { fromAccountId: from, toAccountId: to, amount: '1', currency: 'EUR' } }, { 'api-key': apiKey });
    expect(codes(many)).toEqual(fields.map(() => 'INTERNAL_SERVER_ERROR'));
    // A normal client is still served.
    expect((await gql(server.url, VIEWER, {}, { 'api-key': apiKey })).status).toBe(200);

    const lines = server.logger.lines.slice(before);
    const errors = lines.filter((line) => line.level === 'error');
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors.length).toBeLessThanOrEqual(1 + 3);
    expect(JSON.stringify(errors)).toMatch(/WRONGTYPE/);
    expect(lines.find((line) => line.unexpectedErrors === 20)).toBeDefined();
    for (const line of lines) {
      const text = JSON.stringify(line);
      expect(text).not.toContain(secret);
      expect(text).not.toMatch(/redis\.call|KEYS\[1\]|ARGV\[1\]/);
      expect(text.length).toBeLessThan(8000);
    }
    await redis.del(sequence);
  });
});

describe('5. a trusted mutation sent by its hash alone while reads are shed', () => {
  let redisProcess: RedisProcess;
  let server: TestServer;
  beforeAll(async () => {
    redisProcess = await startRedisProcess();
    server = await startTestServer({ METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', REDIS_COMMAND_TIMEOUT_MS: '60000', SHED_READS_IN_FLIGHT: '1', SHED_WRITES_IN_FLIGHT: '1000' }, redisProcess.url);
  });
  afterAll(async () => {
    process.kill(redisProcess.pid, 'SIGCONT');
    await server.stop();
    await redisProcess.stop();
  });

  it('is not shed as a read, while a query is', async () => {
    const { tenantId, apiKey } = await server.newTenant();
    const sha256Hash = createHash('sha256').update(CREATE_ACCOUNT).digest('hex');
    await server.auth.registerDocuments(tenantId, new Map([[sha256Hash, CREATE_ACCOUNT]]));
    const headers = { 'api-key': apiKey };
    const byHash = { extensions: { persistedQuery: { version: 1, sha256Hash } }, variables: { input: { name: 'by hash', currency: 'EUR' } } };
    const post = (body: unknown) => fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    // One query waits for the frozen Redis: the process now sheds reads.
    process.kill(redisProcess.pid, 'SIGSTOP');
    let held: Promise<Response> | undefined;
    let mutation: Promise<Response> | undefined;
    try {
      held = post({ query: VIEWER });
      await scrapeUntil(server.metricsUrl as string, (metrics) => metrics.value('onceql_requests_in_flight') === 1);
      const shed = await post({ query: VIEWER });
      expect(shed.status).toBe(503);
      // Without a key, a hash is no way past the shedding (a GET has no body for the door's early check).
      const keylessGet = await fetch(`${server.url}?extensions=${encodeURIComponent(JSON.stringify(byHash.extensions))}`, { headers: { 'apollo-require-preflight': 'true' } });
      expect(keylessGet.status).toBe(503);
      mutation = post(byHash);
      await scrapeUntil(server.metricsUrl as string, (metrics) => metrics.value('onceql_requests_in_flight') === 2);
    } finally {
      process.kill(redisProcess.pid, 'SIGCONT');
    }
    const [heldAnswer, mutationAnswer] = await Promise.all([held, mutation]);
    expect(heldAnswer?.status).toBe(200);
    expect(mutationAnswer?.status).toBe(200);
    const created = (await mutationAnswer?.json()) as { data?: { createAccount?: { id?: string } } };
    expect(typeof created.data?.createAccount?.id).toBe('string');
  });
});

describe('6. a client that never reads its answers', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ NODE_ENV: 'development', GRAPHIQL: 'true', HTTP_RESPONSE_TIMEOUT_MS: '500' });
  });
  afterAll(() => server.stop());

  it('has its connection destroyed once it has stalled, while another client is served', async () => {
    const { apiKey } = await server.newTenant();
    // The largest GraphiQL asset, asked for 40 times on one connection: far more than the socket buffers hold.
    const dir = path.join(path.dirname(require.resolve('@onceql/graphiql/package.json')), 'dist', 'assets');
    const [name, size] = readdirSync(dir)
      .filter((file) => file.endsWith('.js'))
      .map((file) => [file, statSync(path.join(dir, file)).size] as const)
      .reduce((a, b) => (b[1] > a[1] ? b : a));
    expect(size * 40).toBeGreaterThan(8 * 1024 * 1024);
    const largest = `/graphiql/assets/${name}`;
    expect((await request(server.origin, { path: largest })).status).toBe(200);

    const stalled = await connect(server.origin);
    stalled.socket.pause();
    const host = new URL(server.origin).host;
    stalled.socket.write(Array.from({ length: 40 }, () => `GET ${largest} HTTP/1.1\r\nhost: ${host}\r\n\r\n`).join(''));
    let closes = 0;
    stalled.socket.once('close', () => void closes++);
    // Meanwhile a normal client is served, again and again, until the stalled socket is closed.
    let served = 0;
    await eventually(async () => {
      const answer = await gql(server.url, VIEWER, {}, { 'api-key': apiKey });
      if (answer.status === 200) served++;
      // A paused socket notices the server's close only when it writes (blank lines between requests are allowed).
      if (!stalled.isClosed()) stalled.socket.write('\r\n');
      return closes === 1;
    }, 400);
    expect(served).toBeGreaterThan(0);
    expect(closes).toBe(1);
  });
});

describe('7. small leaks', () => {
  it('does not serve metrics on the API address unless asked to', async () => {
    const server = await startTestServer({ METRICS_PORT: '0', HOST: '0.0.0.0' });
    try {
      expect(new URL(server.metricsUrl as string).hostname).toBe('127.0.0.1');
    } finally {
      await server.stop();
    }
  });

  it('does not echo a huge api key id back in revokeApiKey', async () => {
    const server = await startTestServer();
    try {
      const { apiKey } = await server.newTenant();
      // Under the cap on argument strings, so the resolver meets it.
      const id = 'k'.repeat(1500);
      const answer = await gql(server.url, 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id }, { 'api-key': apiKey });
      expect(codes(answer)).toEqual(['NOT_FOUND']);
      expect(String(answer.body.errors?.[0]?.extensions?.apiKeyId).length).toBeLessThanOrEqual(64);
      expect(JSON.stringify(answer.body.errors).length).toBeLessThan(1200);
      expect((await gql(server.url, VIEWER, {}, { 'api-key': apiKey })).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
