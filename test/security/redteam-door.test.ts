import { ALL_SCOPES } from '../../src/auth/api-key';
import { codes, gql, startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';
import { connect, jsonBodyOf, request } from './door.helpers';

/**
 * What a red-team review of the HTTP door found, each attack made over real HTTP, refused, and a
 * normal client served beside it.
 */

const VIEWER = '{ viewer { tenant { id } } }';
const DEV_KEY = 'oq_devtenant_devkey_0123456789abcdefghijklmnopqrstuvwxyz';

/** One request written by hand, header lines in this order (repeats and all), on its own connection. */
async function raw(origin: string, headerLines: readonly string[], body = ''): Promise<{ status: number; text: string }> {
  const connection = await connect(origin);
  const head = ['POST /graphql HTTP/1.1', `host: ${new URL(origin).host}`, 'connection: close', 'content-type: application/json', ...headerLines, `content-length: ${Buffer.byteLength(body)}`];
  connection.socket.write(`${head.join('\r\n')}\r\n\r\n${body}`);
  await connection.closed;
  const text = connection.received();
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text };
}

const junk = (count: number): string[] => Array.from({ length: count }, (_, i) => `x-junk-${i}: 1`);

describe('1. headers padded past the count Node keeps', () => {
  let server: TestServer;
  let apiKey: string;
  let loopbackOnly: string;
  beforeAll(async () => {
    server = await startTestServer({ TRUST_PROXY: 'loopback' });
    const tenant = await server.newTenant();
    apiKey = tenant.apiKey;
    loopbackOnly = (await server.auth.createApiKey(tenant.tenantId, { name: 'loopback only', scopes: ALL_SCOPES, ipAllowlist: ['127.0.0.1/32'] })).secret as string;
  });
  afterAll(() => server.stop());

  const body = JSON.stringify({ query: VIEWER });

  it('cannot push X-Forwarded-For out of view to pass an allowlist', async () => {
    const [plain, padded, normal] = await Promise.all([
      raw(server.origin, [`api-key: ${loopbackOnly}`, 'x-forwarded-for: 203.0.113.9'], body),
      raw(server.origin, [`api-key: ${loopbackOnly}`, ...junk(100), 'x-forwarded-for: 203.0.113.9'], body),
      raw(server.origin, [`api-key: ${apiKey}`, 'x-forwarded-for: 203.0.113.10'], body),
    ]);
    expect(plain.status).toBe(403);
    expect(padded.status).toBe(431);
    expect(jsonBodyOf(padded.text).errors?.[0]?.extensions?.code).toBe('REQUEST_HEADERS_TOO_LARGE');
    expect(normal.status).toBe(200);
  });

  it('cannot put a forged X-Forwarded-For line first and push the real one out', async () => {
    const forged = await raw(server.origin, [`api-key: ${loopbackOnly}`, 'x-forwarded-for: 127.0.0.1', ...junk(99), 'x-forwarded-for: 203.0.113.9'], body);
    expect(forged.status).toBe(431);
    // Below the cap, both lines are one chain read from the right: the proxy's line wins.
    const twoLines = await raw(server.origin, [`api-key: ${loopbackOnly}`, 'x-forwarded-for: 127.0.0.1', ...junk(50), 'x-forwarded-for: 203.0.113.9'], body);
    expect(twoLines.status).toBe(403);
    expect(jsonBodyOf(twoLines.text).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    // 100 header lines in all are still served.
    const full = await raw(server.origin, [`api-key: ${apiKey}`, ...junk(95)], body);
    expect(full.status).toBe(200);
  });
});

describe('2. an anonymous caller cannot make the server read and parse its body', () => {
  let server: TestServer;
  let apiKey: string;
  beforeAll(async () => {
    server = await startTestServer({ TRUST_PROXY: '1', AUTH_FAILURES_PER_MINUTE: '3' });
    ({ apiKey } = await server.newTenant());
  });
  afterAll(() => server.stop());

  // Not JSON: an answer of 400 BAD_REQUEST would prove that the server parsed it.
  const unparsable = `{"query":"${VIEWER}","variables":{"x":${'['.repeat(100_000)}`;
  const post = (headers: Record<string, string>, body: string) => request(server.origin, { path: '/graphql', method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const codeOf = (response: { body: string }) => (JSON.parse(response.body) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code;

  it('refuses a request without a key before its body is parsed, and counts it in the failure throttle', async () => {
    const from = { 'x-forwarded-for': '203.0.113.20' };
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await post(from, unparsable));
    expect(answers.map((answer) => [answer.status, codeOf(answer)])).toEqual([
      [401, 'UNAUTHENTICATED'],
      [401, 'UNAUTHENTICATED'],
      [401, 'UNAUTHENTICATED'],
      [429, 'RATE_LIMITED'],
      [429, 'RATE_LIMITED'],
    ]);
    // A real key from that (shared, throttled) address is still served, body read and all.
    const served = await post({ ...from, 'api-key': apiKey }, JSON.stringify({ query: VIEWER }));
    expect(served.status).toBe(200);
    expect(codeOf(await post({ ...from, 'api-key': apiKey }, unparsable))).toBe('BAD_REQUEST');
    // Another address is unaffected.
    expect((await post({ 'x-forwarded-for': '203.0.113.21', 'api-key': apiKey }, JSON.stringify({ query: VIEWER }))).status).toBe(200);
  });

  it('proves a well-formed key before reading a large body, so a made-up key buys no parse either', async () => {
    const madeUp = `${apiKey.slice(0, -4)}AAAA`;
    const from = { 'x-forwarded-for': '203.0.113.30' };
    const [refused, normal] = await Promise.all([post({ ...from, 'api-key': madeUp }, unparsable), gql(server.url, VIEWER, {}, { 'api-key': apiKey, 'x-forwarded-for': '203.0.113.31' })]);
    expect([refused.status, codeOf(refused)]).toEqual([401, 'UNAUTHENTICATED']);
    expect(normal.status).toBe(200);
    // The same body with the real key is read and parsed (and refused as the bad JSON it is).
    const real = await post({ 'x-forwarded-for': '203.0.113.32', 'api-key': apiKey }, unparsable);
    expect([real.status, codeOf(real)]).toEqual([400, 'BAD_REQUEST']);
  });
});

describe('3. the development key and DNS rebinding', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ NODE_ENV: 'development' }, undefined, DEV_KEY);
  });
  afterAll(() => server.stop());

  const page = (headers: Record<string, string> = {}) => request(server.origin, { path: '/graphql', headers: { accept: 'text/html', ...headers } });
  const port = () => new URL(server.origin).port;

  it('is not in the page for a browser that reached this machine under another name', async () => {
    const attacks: Record<string, string>[] = [
      { host: `attacker.example:${port()}` },
      { host: 'attacker.example' },
      { host: `127.0.0.1.attacker.example:${port()}` },
      { host: `localhost.attacker.example:${port()}` },
      { origin: 'http://attacker.example' },
      { referer: `http://attacker.example:${port()}/x` },
      { origin: 'null' },
    ];
    for (const headers of attacks) {
      const answer = await page(headers);
      expect(answer.status).toBe(200);
      expect(answer.body).toContain('EmbeddedSandbox');
      expect(answer.body).not.toContain(DEV_KEY);
    }
  });

  it('is still in the page for localhost, 127.0.0.1 and [::1] on any port', async () => {
    const loopbackNames: Record<string, string>[] = [{}, { host: `localhost:${port()}` }, { host: 'localhost' }, { host: '[::1]:1234' }, { host: `127.0.0.1:${port()}`, origin: `http://localhost:${port()}`, referer: `http://127.0.0.1:${port()}/graphql` }];
    for (const headers of loopbackNames) {
      expect((await page(headers)).body).toContain(DEV_KEY);
    }
  });
});

describe('4. an unknown Expect header', () => {
  it('gets 417 in the one error shape, while a normal client is served', async () => {
    const server = await startTestServer();
    try {
      const { apiKey } = await server.newTenant();
      const [bogus, normal] = await Promise.all([raw(server.origin, ['expect: bogus'], JSON.stringify({ query: VIEWER })), gql(server.url, VIEWER, {}, { 'api-key': apiKey })]);
      expect(bogus.status).toBe(417);
      expect(bogus.text).toMatch(/content-type: application\/json/i);
      const error = jsonBodyOf(bogus.text).errors?.[0];
      expect(error?.extensions?.code).toBe('EXPECTATION_FAILED');
      expect(error?.message).toMatch(/Expect/);
      expect(normal.status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});

describe('5. names that pass for other names', () => {
  it('refuses bidi controls and invisible characters in an account name, and keeps emoji sequences', async () => {
    const server = await startTestServer();
    try {
      const { apiKey } = await server.newTenant();
      const create = (name: string) =>
        gql<{ createAccount: { name: string } | null }>(
          server.url,
          'mutation($input: CreateAccountInput!) { createAccount(input: $input) { name } }',
          { input: { name, currency: 'EUR' } },
          { 'api-key': apiKey },
        );
      for (const name of ['invoice\u202Egpj.exe', 'Ali\u200Bce', 'Bob\u2060', '\uFEFFCarol', 'Dave\u200D']) {
        const refused = await create(name);
        expect(codes(refused)).toEqual(['BAD_USER_INPUT']);
        expect(refused.body.errors?.[0]?.message).toMatch(/invisible|format/);
      }
      for (const name of ['Family 👨\u200D👩\u200D👧', 'Savings 🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}', 'می\u200Cخواهم', 'Zoë']) {
        const created = await create(name);
        expect(created.body.errors).toBeUndefined();
        expect(created.body.data?.createAccount?.name).toBe(name);
      }
    } finally {
      await server.stop();
    }
  });
});
