import { ApiError, ErrorCode, RateLimitedError, ServiceUnavailableError } from '../../src/errors';
import { errorMediaType, refusal, renderRefusal } from '../../src/http/respond';
import { gql, startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';
import { connect, eventually, jsonBodyOf, request } from './door.helpers';

/**
 * The HTTP door under attack: slow and idle connections, connection floods, big bodies, other
 * media types, subscriptions and clients that hang up. Each attack runs over real sockets while
 * a normal client is served at the same time.
 */

const VIEWER = '{ viewer { tenant { id } } }';

async function servedNormally(server: TestServer, apiKey: string): Promise<void> {
  const response = await gql(server.url, VIEWER, {}, { 'api-key': apiKey });
  expect(response.status).toBe(200);
  expect(response.body.errors).toBeUndefined();
}

describe('timeouts', () => {
  let server: TestServer;
  let apiKey: string;
  beforeAll(async () => {
    server = await startTestServer({ HTTP_HEADERS_TIMEOUT_MS: '800', HTTP_REQUEST_TIMEOUT_MS: '1200', HTTP_KEEP_ALIVE_TIMEOUT_MS: '300' });
    ({ apiKey } = await server.newTenant());
  });
  afterAll(() => server.stop());

  it('closes a connection that never finishes its headers, with a JSON 408, while another client is served', async () => {
    const slow = await connect(server.origin);
    slow.socket.write('POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n');
    await servedNormally(server, apiKey);
    expect(slow.isClosed()).toBe(false);
    await slow.closed;
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(jsonBodyOf(slow.received()).errors?.[0]?.extensions?.code).toBe('REQUEST_TIMEOUT');
    await servedNormally(server, apiKey);
  });

  it('closes a connection that never finishes its body, with a JSON 408, while another client is served', async () => {
    const slow = await connect(server.origin);
    // With a key: a keyless request is refused without waiting for its body.
    slow.socket.write(`POST /graphql HTTP/1.1\r\nHost: localhost\r\nApi-Key: ${apiKey}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"query":"`);
    await servedNormally(server, apiKey);
    expect(slow.isClosed()).toBe(false);
    await slow.closed;
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(jsonBodyOf(slow.received()).errors?.[0]?.extensions?.code).toBe('REQUEST_TIMEOUT');
    // The handler waiting for that body gave up quietly.
    expect(server.logger.lines.filter((line) => line.level === 'error')).toEqual([]);
  });

  it('closes an idle keep-alive connection after its answer', async () => {
    const idle = await connect(server.origin);
    idle.socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
    await eventually(() => idle.received().includes('"ok"'));
    await servedNormally(server, apiKey);
    await idle.closed;
    expect(idle.received().match(/HTTP\/1\.1 /g)).toHaveLength(1);
  });
});

describe('connection caps', () => {
  it('refuses connections past the cap per address, while another address is served', async () => {
    const server = await startTestServer({ HTTP_MAX_CONNECTIONS_PER_IP: '3' });
    try {
      const held = await Promise.all([1, 2, 3].map(() => connect(server.origin, '127.0.0.1')));
      const extra = await connect(server.origin, '127.0.0.1');
      await extra.closed;
      expect(extra.received()).toBe('');
      expect((await request(server.origin, { localAddress: '127.0.0.2' })).status).toBe(200);
      expect(held.some((connection) => connection.isClosed())).toBe(false);

      held[0]?.socket.destroy();
      await eventually(async () => (await request(server.origin, { localAddress: '127.0.0.1' }).then((r) => r.status, () => 0)) === 200);
      for (const connection of held) connection.socket.destroy();
    } finally {
      await server.stop();
    }
  });

  it('refuses connections past the cap in all, and serves again once some close', async () => {
    const server = await startTestServer({ HTTP_MAX_CONNECTIONS: '4' });
    try {
      const held = await Promise.all([1, 2, 3, 4].map((i) => connect(server.origin, `127.0.0.${i}`)));
      const extra = await connect(server.origin, '127.0.0.9');
      await extra.closed;
      expect(extra.received()).toBe('');
      expect(held.some((connection) => connection.isClosed())).toBe(false);
      for (const connection of held) connection.socket.destroy();
      await eventually(async () => (await request(server.origin, { localAddress: '127.0.0.9' }).then((r) => r.status, () => 0)) === 200);
    } finally {
      await server.stop();
    }
  });
});

describe('bodies and media types', () => {
  let server: TestServer;
  let apiKey: string;
  beforeAll(async () => {
    server = await startTestServer();
    ({ apiKey } = await server.newTenant());
  });
  afterAll(() => server.stop());

  it('answers a 2 MiB body with a JSON 413, while another client is served', async () => {
    const big = JSON.stringify({ query: VIEWER, variables: { pad: 'x'.repeat(2 * 1024 * 1024) } });
    const [refused] = await Promise.all([
      fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', 'api-key': apiKey }, body: big }),
      servedNormally(server, apiKey),
    ]);
    expect(refused.status).toBe(413);
    expect(refused.headers.get('content-type')).toMatch(/^application\/graphql-response\+json/);
    const body = (await refused.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers a streamed (chunked) 2 MiB body with a JSON 413 too', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(`{"query":"${VIEWER}","variables":{"pad":"`));
        for (let i = 0; i < 32; i++) controller.enqueue(new TextEncoder().encode(chunk));
        controller.enqueue(new TextEncoder().encode('"}}'));
        controller.close();
      },
    });
    const refused = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', 'api-key': apiKey }, body: stream, duplex: 'half' } as RequestInit);
    expect(refused.status).toBe(413);
    expect(refused.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await refused.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses a too-large body announced with Expect: 100-continue before it is sent', async () => {
    const client = await connect(server.origin);
    client.socket.write(`POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${2 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n`);
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 413 /);
    expect(client.received()).not.toContain('100 Continue');
    expect(jsonBodyOf(client.received()).errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it.each(['text/plain', 'application/json-patch+json', 'application/x-www-form-urlencoded', 'application/graphql-response+json', ''])('refuses Content-Type "%s" with 415', async (contentType) => {
    const headers: Record<string, string> = { 'api-key': apiKey, accept: 'application/graphql-response+json, application/json;q=0.9' };
    if (contentType !== '') headers['content-type'] = contentType;
    const [refused] = await Promise.all([request(server.origin, { path: '/graphql', method: 'POST', headers, body: JSON.stringify({ query: VIEWER }) }), servedNormally(server, apiKey)]);
    expect(refused.status).toBe(415);
    expect(refused.headers['content-type']).toMatch(/^application\/graphql-response\+json/);
    expect((JSON.parse(refused.body) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers a subscription with 400 and says why', async () => {
    const [refused] = await Promise.all([gql(server.url, 'subscription { viewer { tenant { id } } }', {}, { 'api-key': apiKey }), servedNormally(server, apiKey)]);
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.message).toMatch(/does not support subscription/);
    expect(server.logger.lines.filter((line) => line.level === 'error')).toEqual([]);
  });
});

describe('clients that hang up', () => {
  it('logs an aborted request at debug, without a stack, and never at error level', async () => {
    const server = await startTestServer();
    try {
      const { apiKey } = await server.newTenant();
      for (let i = 0; i < 5; i++) {
        const client = await connect(server.origin);
        client.socket.write(`POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\napi-key: ${apiKey}\r\nContent-Length: 5000\r\n\r\n{"query":"{ viewer`);
        // Let the server start reading the body, then hang up in the middle of it.
        await new Promise((resolve) => setTimeout(resolve, 20));
        client.socket.destroy();
      }
      await servedNormally(server, apiKey);
      await eventually(() => server.logger.lines.filter((line) => line.msg.startsWith('client closed')).length === 5);
      expect(server.logger.lines.filter((line) => line.level === 'error' || line.level === 'warn')).toEqual([]);
      for (const line of server.logger.lines) expect(JSON.stringify(line)).not.toMatch(/stack|\s+at /);
    } finally {
      await server.stop();
    }
  });
});

describe('one error shape', () => {
  it('is served as application/graphql-response+json only when Accept prefers it', () => {
    expect(errorMediaType(undefined)).toBe('application/json');
    expect(errorMediaType('*/*')).toBe('application/json');
    expect(errorMediaType('application/json')).toBe('application/json');
    expect(errorMediaType('application/graphql-response+json')).toBe('application/graphql-response+json');
    // Apollo Client 4's header.
    expect(errorMediaType('application/graphql-response+json,application/json;q=0.9')).toBe('application/graphql-response+json');
    expect(errorMediaType('application/json, application/graphql-response+json')).toBe('application/json');
    expect(errorMediaType('application/json;q=0.5, application/graphql-response+json;q=0.8')).toBe('application/graphql-response+json');
    expect(errorMediaType('application/graphql-response+json;q=0, */*')).toBe('application/json');
    expect(errorMediaType('text/html')).toBe('application/json');
  });

  it('says when to come back on 409, 429 and 503, in Retry-After and extensions.retryAfterMs', () => {
    const header = (rendered: ReturnType<typeof renderRefusal>, name: string) => rendered.headers.find(([key]) => key === name)?.[1];
    const limited = renderRefusal(undefined, { error: new RateLimitedError('slow down', 2500) });
    expect([limited.status, header(limited, 'retry-after'), JSON.parse(limited.body)]).toEqual([
      429,
      '3',
      { errors: [{ message: 'slow down', extensions: { code: 'RATE_LIMITED', retryAfterMs: 2500 } }] },
    ]);
    const unavailable = renderRefusal('application/graphql-response+json', { error: new ServiceUnavailableError() });
    expect([unavailable.status, header(unavailable, 'retry-after'), header(unavailable, 'content-type')]).toEqual([503, '1', 'application/graphql-response+json; charset=utf-8']);
    expect((JSON.parse(unavailable.body) as { errors: { extensions: Record<string, unknown> }[] }).errors[0]?.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', retryAfterMs: 1000 });
    const inProgress = renderRefusal(undefined, { error: new ApiError(ErrorCode.IDEMPOTENCY_REQUEST_IN_PROGRESS, 'busy', { retryAfterMs: 100 }) });
    expect([inProgress.status, header(inProgress, 'retry-after')]).toEqual([409, '1']);
    const tooLarge = renderRefusal(undefined, refusal(ErrorCode.PAYLOAD_TOO_LARGE, 'big'));
    expect([tooLarge.status, header(tooLarge, 'retry-after')]).toEqual([413, undefined]);
  });
});
