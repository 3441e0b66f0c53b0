import { randomUUID } from 'node:crypto';
import { ALL_SCOPES } from '../../src/auth/api-key';
import { ledgerClient } from '../helpers/ledger';
import { startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';
import { request } from './door.helpers';

// One error shape (DESIGN.md "Transport"): every refusal of /graphql, whichever step made it (the
// door, the admit step, Apollo, a resolver), is `{ errors: [{ message, extensions: { code } }] }`
// in the media type the client accepts, and 409/429/503 say when to come back in Retry-After and
// extensions.retryAfterMs. Apollo Client 4 reads codes only from graphql-response+json bodies.

/** What Apollo Client 4 sends. */
const APOLLO_ACCEPT = 'application/graphql-response+json,application/json;q=0.9';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

interface Case {
  readonly name: string;
  readonly status: number;
  readonly code: string;
  /** Sends the request with the given Accept header (undefined: none). */
  send(accept: string | undefined): Promise<Answer>;
}

let server: TestServer;
let slow: TestServer;
let down: TestServer;
let apiKey: string;
let readOnlyKey: string;
let elsewhereKey: string;
let slowKey: string;
let funding: string;
let empty: string;

beforeAll(async () => {
  server = await startTestServer({ HTTP_MAX_BODY_BYTES: '2048' });
  slow = await startTestServer({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '1' });
  // Nothing listens on port 1: every request that reaches the store gets 503.
  down = await startTestServer({}, 'redis://127.0.0.1:1');
  const tenant = await server.newTenant();
  apiKey = tenant.apiKey;
  readOnlyKey = (await server.auth.createApiKey(tenant.tenantId, { name: 'read only', scopes: ['read'] })).secret as string;
  elsewhereKey = (await server.auth.createApiKey(tenant.tenantId, { name: 'elsewhere', scopes: ALL_SCOPES, ipAllowlist: ['192.0.2.0/24'] })).secret as string;
  slowKey = (await slow.newTenant()).apiKey;
  const ledger = ledgerClient(server.url, apiKey);
  funding = await ledger.account('Funding', 'EUR', true);
  empty = await ledger.account('Empty');
}, 30_000);
afterAll(async () => {
  await Promise.all([server.stop(), slow.stop(), down.stop()]);
});

function post(target: TestServer, accept: string | undefined, body: string, headers: Record<string, string> = {}, path = '/graphql', method = 'POST'): Promise<Answer> {
  return request(target.origin, {
    path,
    method,
    headers: { 'content-type': 'application/json', ...(accept === undefined ? {} : { accept }), ...headers },
    body,
  });
}

const query = (text: string, variables: Record<string, unknown> = {}): string => JSON.stringify({ query: text, variables });
const VIEWER = query('{ viewer { tenant { id } } }');
const TRANSFER = 'mutation($input: CreateTransferInput!, $key: String) { createTransfer(input: $input, idempotencyKey: $key) { id } }';

const cases: Case[] = [
  { name: 'no api key', status: 401, code: 'UNAUTHENTICATED', send: (accept) => post(server, accept, VIEWER) },
  { name: 'a key used outside its allowlist', status: 403, code: 'FORBIDDEN', send: (accept) => post(server, accept, VIEWER, { 'api-key': elsewhereKey }) },
  {
    name: 'a key without the scope (refused during execution)',
    status: 403,
    code: 'FORBIDDEN',
    send: (accept) => post(server, accept, query(TRANSFER, { input: { fromAccountId: funding, toAccountId: empty, amount: '1', currency: 'EUR' } }), { 'api-key': readOnlyKey }),
  },
  {
    name: 'over the rate limit',
    status: 429,
    code: 'RATE_LIMITED',
    async send(accept) {
      // 1 per second with a burst of 1: among 12 back-to-back requests at least one is refused.
      for (let i = 0; i < 12; i++) {
        const answer = await post(slow, accept, VIEWER, { 'api-key': slowKey });
        if (answer.status === 429) return answer;
      }
      throw new Error('never rate limited');
    },
  },
  {
    name: 'a query over the cost maximum',
    status: 400,
    code: 'QUERY_TOO_COMPLEX',
    send: (accept) => post(server, accept, query('{ accounts(first: 100) { edges { node { transfers(first: 100) { edges { node { id } } } } } } }'), { 'api-key': apiKey }),
  },
  { name: 'a query that does not parse', status: 400, code: 'GRAPHQL_PARSE_FAILED', send: (accept) => post(server, accept, query('{ viewer {'), { 'api-key': apiKey }) },
  { name: 'a query that does not validate', status: 400, code: 'GRAPHQL_VALIDATION_FAILED', send: (accept) => post(server, accept, query('{ nothingHere }'), { 'api-key': apiKey }) },
  {
    name: 'a bad argument',
    status: 400,
    code: 'BAD_USER_INPUT',
    send: (accept) => post(server, accept, query(TRANSFER, { input: { fromAccountId: funding, toAccountId: empty, amount: '1.5', currency: 'EUR' } }), { 'api-key': apiKey }),
  },
  { name: 'a body that is not JSON', status: 400, code: 'BAD_REQUEST', send: (accept) => post(server, accept, '{"query": ', { 'api-key': apiKey }) },
  { name: 'a body with no query', status: 400, code: 'BAD_REQUEST', send: (accept) => post(server, accept, '{"variables": {}}', { 'api-key': apiKey }) },
  { name: 'an unknown API version', status: 400, code: 'BAD_USER_INPUT', send: (accept) => post(server, accept, VIEWER, { 'api-key': apiKey, 'x-api-version': '1999-01-01' }) },
  { name: 'a body over the limit', status: 413, code: 'PAYLOAD_TOO_LARGE', send: (accept) => post(server, accept, query(`{ viewer { tenant { id } } } # ${'x'.repeat(4096)}`), { 'api-key': apiKey }) },
  { name: 'a body that is not JSON by its type', status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', send: (accept) => post(server, accept, VIEWER, { 'api-key': apiKey, 'content-type': 'text/plain' }) },
  {
    name: 'a transfer from an account that does not exist',
    status: 404,
    code: 'NOT_FOUND',
    send: (accept) => post(server, accept, query(TRANSFER, { input: { fromAccountId: 'acc_nothing', toAccountId: empty, amount: '1', currency: 'EUR' }, key: randomUUID() }), { 'api-key': apiKey }),
  },
  {
    name: 'a transfer the balance does not cover',
    status: 422,
    code: 'INSUFFICIENT_FUNDS',
    send: (accept) => post(server, accept, query(TRANSFER, { input: { fromAccountId: empty, toAccountId: funding, amount: '1', currency: 'EUR' }, key: randomUUID() }), { 'api-key': apiKey }),
  },
  { name: 'the data store unreachable', status: 503, code: 'SERVICE_UNAVAILABLE', send: (accept) => post(down, accept, VIEWER, { 'api-key': apiKey }) },
  { name: 'a path that is not a route', status: 404, code: 'NOT_FOUND', send: (accept) => post(server, accept, VIEWER, { 'api-key': apiKey }, '/graphq') },
  { name: 'a method /graphql does not take', status: 400, code: 'BAD_REQUEST', send: (accept) => post(server, accept, VIEWER, { 'api-key': apiKey }, '/graphql', 'PUT') },
];

/** The parts of an answer the one error shape fixes. */
function shapeOf(answer: Answer): { status: number; contentType: string; code: unknown; keys: string[]; errorKeys: string[]; message: string } {
  const body = JSON.parse(answer.body) as { errors?: { message?: unknown; extensions?: { code?: unknown } }[] };
  const first = body.errors?.[0];
  return {
    status: answer.status,
    contentType: String(answer.headers['content-type']).split(';')[0] ?? '',
    code: first?.extensions?.code,
    keys: Object.keys(body).filter((key) => key !== 'extensions'),
    errorKeys: Object.keys(first ?? {}).filter((key) => key !== 'locations' && key !== 'path'),
    message: typeof first?.message === 'string' ? first.message : '',
  };
}

describe('one error shape over real HTTP', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    for (const [accept, mediaType] of [
      [APOLLO_ACCEPT, 'application/graphql-response+json'],
      ['application/json', 'application/json'],
      [undefined, 'application/json'],
    ] as const) {
      const answer = await c.send(accept);
      const shape = shapeOf(answer);
      expect({ accept, ...shape, message: shape.message.length > 0 }).toEqual({
        accept,
        status: c.status,
        contentType: mediaType,
        code: c.code,
        keys: expect.arrayContaining(['errors']) as unknown,
        errorKeys: ['message', 'extensions'],
        message: true,
      });
      expect(shape.keys.filter((key) => key !== 'data')).toEqual(['errors']);
      // Refusals before execution carry no data; execution errors carry data: null or a partial result.
      const retryAfter = answer.headers['retry-after'];
      const retryAfterMs = (JSON.parse(answer.body) as { errors: { extensions: { retryAfterMs?: unknown } }[] }).errors[0]?.extensions.retryAfterMs;
      if ([409, 429, 503].includes(c.status)) {
        expect(typeof retryAfterMs).toBe('number');
        expect(Number(retryAfter)).toBe(Math.max(1, Math.ceil(Number(retryAfterMs) / 1000)));
      } else {
        expect([retryAfter, retryAfterMs]).toEqual([undefined, undefined]);
      }
    }
  });

  it('serves a normal client beside the refusals', async () => {
    const answer = await post(server, APOLLO_ACCEPT, VIEWER, { 'api-key': apiKey });
    expect(answer.status).toBe(200);
    expect((JSON.parse(answer.body) as { data: { viewer: { tenant: { id: string } } } }).data.viewer.tenant.id).toMatch(/./);
  });
});
