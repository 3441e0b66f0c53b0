import { randomUUID } from 'node:crypto';
import { ledgerClient } from '../helpers/ledger';
import type { TestServer } from '../helpers/server';
import { gql, startTestServer } from '../helpers/server';

// The logs of requests that carry every kind of secret: api keys (header, Bearer, unknown ones),
// a freshly minted key's secret in the answer, idempotency keys (argument and header).
describe('request logs', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('write one line per request with what an operator needs, and no secret in clear', async () => {
    const { apiKey: adminKey, tenantId } = await server.newTenant('logs');
    const secrets: string[] = [adminKey];
    const logged = server.logger.lines.length;
    const requestIds: string[] = [];
    const send = async (url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string>) => {
      const response = await gql(url, query, variables, headers);
      requestIds.push(response.headers.get('x-request-id') as string);
      return response;
    };

    const mintKey = `mint-${randomUUID()}`;
    secrets.push(mintKey);
    const mint = 'mutation M($input: CreateApiKeyInput!, $idempotencyKey: String) { createApiKey(input: $input, idempotencyKey: $idempotencyKey) { secret } }';
    const minted = await send(server.url, mint, { input: { name: 'minted', scopes: ['READ', 'WRITE'] }, idempotencyKey: mintKey }, { 'api-key': adminKey });
    const secret = (minted.body.data?.createApiKey as { secret: string }).secret;
    expect(secret).toMatch(/^oq_/);
    secrets.push(secret);

    const ledger = ledgerClient(server.url, secret);
    const funding = await ledger.account('funding', 'EUR', true);
    const target = await ledger.account('target');
    requestIds.push('account', 'account');
    const headerKey = `header-${randomUUID()}`;
    secrets.push(headerKey);
    const transfer = `mutation T($input: CreateTransferInput!) { createTransfer(input: $input) { id } }`;
    const input = { fromAccountId: funding, toAccountId: target, amount: '5', currency: 'EUR' };
    const executed = await send(server.url, transfer, { input }, { authorization: `Bearer ${secret}`, 'idempotency-key': headerKey });
    expect(executed.status).toBe(200);
    const reused = await send(server.url, transfer, { input: { ...input, amount: '6' } }, { 'api-key': secret, 'idempotency-key': headerKey });
    expect(reused.status).toBe(422);

    const unknownKey = `oq_${tenantId}_aaaaaaaaaaaaaaaa_${'Q'.repeat(43)}`;
    secrets.push(unknownKey, 'Q'.repeat(43));
    expect((await send(server.url, '{ viewer { tenant { id } } }', {}, { 'api-key': unknownKey })).status).toBe(401);
    const malformed = `not-a-key-${randomUUID()}`;
    secrets.push(malformed);
    expect((await send(server.url, '{ viewer { tenant { id } } }', {}, { authorization: `Bearer ${malformed}` })).status).toBe(401);

    const lines = server.logger.lines.slice(logged);
    const text = JSON.stringify(lines);
    for (const value of secrets) expect(text).not.toContain(value);
    // Nor the secret part of a key on its own (its prefix is public).
    expect(text).not.toContain(secret.slice(-43));
    expect(text).not.toContain(adminKey.slice(-43));

    const requestLines = lines.filter((line) => line.msg === 'request');
    expect(requestLines).toHaveLength(requestIds.length);
    const byId = (id: string) => requestLines.find((line) => line.requestId === id);
    const mintLine = byId(requestIds[0] as string);
    expect(mintLine).toMatchObject({ level: 'info', tenant: tenantId, keyPrefix: adminKey.slice(0, adminKey.length - 44), operationType: 'mutation', operation: 'createApiKey', status: 200, code: 'OK' });
    expect(mintLine?.idempotency).toEqual([{ status: 'EXECUTED', keyHash: expect.stringMatching(/^[A-Za-z0-9_-]{12}$/) }]);
    expect(typeof mintLine?.durationMs).toBe('number');
    const executedLine = byId(executed.headers.get('x-request-id') as string);
    expect(executedLine).toMatchObject({ operationName: 'T', operation: 'createTransfer', status: 200, code: 'OK', keyPrefix: secret.slice(0, secret.length - 44) });
    expect(byId(reused.headers.get('x-request-id') as string)).toMatchObject({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED', idempotency: [{ status: 'IDEMPOTENCY_KEY_REUSED' }] });
    expect(requestLines.filter((line) => line.status === 401 && line.code === 'UNAUTHENTICATED' && line.tenant === undefined)).toHaveLength(2);
  });
});
