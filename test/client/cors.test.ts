import { request } from '../security/door.helpers';
import { startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';

// CORS for real frontends: the tracing headers their SDKs add pass the preflight, the headers a
// client needs are readable, development servers on loopback work in development only, and a
// refused origin is refused visibly (403 preflight, one log line naming CORS_ORIGINS).

const APP = 'https://app.example.com';
const TRACING_HEADERS = ['traceparent', 'tracestate', 'baggage', 'sentry-trace'];
const EXPOSED = ['idempotent-replayed', 'ratelimit', 'ratelimit-policy', 'retry-after', 'x-request-id', 'x-api-version'];

let server: TestServer;
let development: TestServer;
let apiKey: string;

beforeAll(async () => {
  server = await startTestServer({ CORS_ORIGINS: APP });
  development = await startTestServer({ NODE_ENV: 'development' });
  apiKey = (await server.newTenant()).apiKey;
});
afterAll(async () => {
  await Promise.all([server.stop(), development.stop()]);
});

function preflight(target: TestServer, origin: string, requestHeaders: string[] = ['content-type', 'api-key']) {
  return request(target.origin, {
    path: '/graphql',
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': requestHeaders.join(',') },
  });
}

function post(target: TestServer, origin: string, headers: Record<string, string> = {}) {
  return request(target.origin, {
    path: '/graphql',
    method: 'POST',
    headers: { origin, 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query: '{ viewer { tenant { id } } }' }),
  });
}

const list = (value: string | string[] | undefined): string[] => String(value ?? '').split(',').map((item) => item.trim().toLowerCase()).filter((item) => item !== '');

describe('CORS for browser apps', () => {
  it('passes a preflight with the tracing headers of frontend SDKs from a CORS_ORIGINS origin', async () => {
    const answer = await preflight(server, APP, ['content-type', 'api-key', 'idempotency-key', 'apollo-require-preflight', ...TRACING_HEADERS]);
    expect(answer.status).toBe(204);
    expect(answer.headers['access-control-allow-origin']).toBe(APP);
    expect(list(answer.headers['access-control-allow-methods'])).toEqual(expect.arrayContaining(['get', 'post']));
    expect(list(answer.headers['access-control-allow-headers'])).toEqual(
      expect.arrayContaining(['content-type', 'api-key', 'authorization', 'idempotency-key', 'apollo-require-preflight', ...TRACING_HEADERS]),
    );
  });

  it('lets the app read the replay marker, the limits and the ids, on answers and on refusals alike', async () => {
    const served = await post(server, APP, { 'api-key': apiKey, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    expect(served.status).toBe(200);
    expect(served.headers['access-control-allow-origin']).toBe(APP);
    expect(list(served.headers['access-control-expose-headers'])).toEqual(expect.arrayContaining(EXPOSED));
    // A refusal must be readable too, or the browser hides its code from the app.
    const refused = await post(server, APP);
    expect(refused.status).toBe(401);
    expect(refused.headers['access-control-allow-origin']).toBe(APP);
    expect((JSON.parse(refused.body) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('accepts http://localhost:* and http://127.0.0.1:* in development only', async () => {
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:8080', 'http://localhost', 'http://[::1]:3000']) {
      const answer = await preflight(development, origin, ['content-type', 'api-key', 'traceparent']);
      expect([origin, answer.status, answer.headers['access-control-allow-origin']]).toEqual([origin, 204, origin]);
    }
    // Look-alikes of loopback are not loopback.
    for (const origin of ['http://localhost.evil.example:5173', 'http://127.0.0.1.evil.example', 'https://evil.example/http://localhost:1', 'http://localhost:5173@evil.example', 'null']) {
      const answer = await preflight(development, origin);
      expect([origin, answer.status, answer.headers['access-control-allow-origin']]).toEqual([origin, 403, undefined]);
    }
    // Outside development, loopback origins are refused like any other.
    const answer = await preflight(server, 'http://localhost:5173');
    expect([answer.status, answer.headers['access-control-allow-origin']]).toEqual([403, undefined]);
  });

  it('refuses an unknown origin visibly: a 403 preflight, no CORS headers, one info line naming CORS_ORIGINS', async () => {
    const origin = 'https://unknown.example';
    const before = server.logger.lines.length;
    for (let i = 0; i < 3; i++) {
      const refused = await preflight(server, origin);
      expect([refused.status, refused.headers['access-control-allow-origin'], refused.headers['access-control-allow-headers']]).toEqual([403, undefined, undefined]);
      expect(refused.body).toContain('CORS_ORIGINS');
      const simple = await post(server, origin, { 'api-key': apiKey });
      expect(simple.headers['access-control-allow-origin']).toBeUndefined();
    }
    const logged = server.logger.lines.slice(before).filter((line) => line.origin === origin);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 'info', origin });
    expect(String(logged[0]?.hint)).toContain('CORS_ORIGINS');
    // A client of an allowed origin is served at the same time.
    expect((await post(server, APP, { 'api-key': apiKey })).status).toBe(200);
  });

  it('cannot be made to log or remember without bound by ever new origins', async () => {
    const before = server.logger.lines.length;
    const sent = 1100;
    for (let i = 0; i < sent; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => preflight(server, `https://o${i + j}.flood.example`)));
    }
    const logged = server.logger.lines.slice(before).filter((line) => String(line.origin).endsWith('.flood.example')).length;
    expect(logged).toBeGreaterThan(0);
    expect(logged).toBeLessThanOrEqual(1000);
    expect((await post(server, APP, { 'api-key': apiKey })).status).toBe(200);
  });
});
