import { randomUUID } from 'node:crypto';
import { AccountsDocument, ViewerDocument } from '../generated/graphql';
import { ledgerClient } from '../helpers/ledger';
import type { GraphQLResponse, TestServer } from '../helpers/server';
import { codes, gql, startTestServer } from '../helpers/server';
import type { RedisProcess } from '../helpers/redis-process';
import { startRedisProcess } from '../helpers/redis-process';
import { scrape, scrapeUntil } from './scrape';

// Metrics after a scripted sequence: a new transfer, its replay, its key reused for other
// arguments (422), a request over the rate limit (429) and one shed while the process is "full"
// (503). Each counter must move by exactly what the answers say happened.
describe('GET /metrics', () => {
  let redisProcess: RedisProcess;
  let server: TestServer;
  let metricsUrl: string;

  beforeAll(async () => {
    // Redis of this test's own: frozen (SIGSTOP) to hold one request in flight.
    redisProcess = await startRedisProcess();
    server = await startTestServer({
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      // The held request waits for the frozen Redis instead of timing out.
      REDIS_COMMAND_TIMEOUT_MS: '60000',
      // Each tenant may make 20 requests at once and 1 per second after that.
      RATE_LIMIT_PER_SECOND: '1',
      RATE_LIMIT_BURST: '20',
      // One request in flight is enough to shed queries, two to shed everything.
      SHED_READS_IN_FLIGHT: '1',
      SHED_WRITES_IN_FLIGHT: '2',
    }, redisProcess.url);
    metricsUrl = server.metricsUrl as string;
  });
  afterAll(async () => {
    process.kill(redisProcess.pid, 'SIGCONT');
    await server.stop();
    await redisProcess.stop();
  });

  it('is served on its own port, not on the API port', async () => {
    const metrics = await scrape(metricsUrl);
    expect(metrics.text).toContain('# TYPE onceql_requests_total counter');
    expect(metrics.text).toContain('process_cpu_user_seconds_total');
    expect(metrics.text).toContain('nodejs_eventloop_lag_seconds');
    expect((await fetch(`${server.origin}/metrics`)).status).toBe(404);
    expect((await fetch(metricsUrl.replace('/metrics', '/other'))).status).toBe(404);
  });

  it('counts a new transfer, its replay, a reused key, a 429 and a 503 exactly', async () => {
    const { apiKey } = await server.newTenant('metrics');
    const ledger = ledgerClient(server.url, apiKey);
    const funding = await ledger.account('funding', 'EUR', true);
    const target = await ledger.account('target');
    const before = await scrape(metricsUrl);

    const key = `metrics-${randomUUID()}`;
    const answers: GraphQLResponse[] = [];
    const created = await ledger.transfer(funding, target, '100', 'EUR', null, key);
    const replayed = await ledger.transfer(funding, target, '100', 'EUR', null, key);
    const reused = await ledger.transfer(funding, target, '200', 'EUR', null, key);
    answers.push(created, replayed, reused);
    expect([created.status, replayed.status, reused.status]).toEqual([200, 200, 422]);
    expect(codes(reused)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    // A page of 50 that holds 2 accounts: most of its estimate is refunded.
    const page = await gql(server.url, AccountsDocument, { first: 50 }, ledger.headers);
    expect(page.status).toBe(200);
    answers.push(page);

    // Another tenant spends its burst: the first refusal ends the loop.
    const other = await server.newTenant('metrics-429');
    let viewerAdmitted = 0;
    let rateLimited: GraphQLResponse | undefined;
    for (let attempt = 0; attempt < 60 && rateLimited === undefined; attempt++) {
      const response = await gql(server.url, ViewerDocument, {}, { 'api-key': other.apiKey });
      if (response.status === 429) rateLimited = response;
      else {
        expect(response.status).toBe(200);
        answers.push(response);
        viewerAdmitted++;
      }
    }
    expect(rateLimited && codes(rateLimited)).toEqual(['RATE_LIMITED']);

    // A request waiting for Redis (frozen) is in flight: a query now is shed, before any Redis call.
    process.kill(redisProcess.pid, 'SIGSTOP');
    const held = gql(server.url, ViewerDocument, {}, { 'api-key': apiKey });
    let shed: GraphQLResponse;
    try {
      await scrapeUntil(metricsUrl, (metrics) => metrics.value('onceql_requests_in_flight') === 1);
      shed = await gql(server.url, ViewerDocument, {}, { 'api-key': apiKey });
    } finally {
      process.kill(redisProcess.pid, 'SIGCONT');
    }
    expect(shed.status).toBe(503);
    expect(codes(shed)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(shed.headers.get('retry-after')).toBe('1');
    const heldAnswer = await held;
    expect(heldAnswer.status).toBe(200);
    answers.push(heldAnswer);

    const after = await scrapeUntil(metricsUrl, (metrics) => metrics.value('onceql_requests_in_flight') === 0);
    const delta = (name: string, labels?: Record<string, string>) => after.value(name, labels) - before.value(name, labels);

    // Requests by operation, code and status.
    expect(delta('onceql_requests_total', { operation_type: 'mutation', operation: 'createTransfer', code: 'OK', status: '200' })).toBe(2);
    expect(delta('onceql_requests_total', { operation_type: 'mutation', operation: 'createTransfer', code: 'IDEMPOTENCY_KEY_REUSED', status: '422' })).toBe(1);
    expect(delta('onceql_requests_total', { operation_type: 'query', operation: 'viewer', code: 'OK', status: '200' })).toBe(viewerAdmitted + 1);
    expect(delta('onceql_requests_total', { code: 'RATE_LIMITED', status: '429' })).toBe(1);
    expect(delta('onceql_requests_total', { code: 'SERVICE_UNAVAILABLE', status: '503' })).toBe(1);
    expect(delta('onceql_requests_total', { operation_type: 'query', operation: 'accounts', code: 'OK', status: '200' })).toBe(1);
    expect(delta('onceql_requests_total')).toBe(answers.length + 2);
    expect(delta('onceql_request_duration_seconds_count')).toBe(answers.length + 2);

    // Idempotency outcomes.
    expect(delta('onceql_idempotency_outcomes_total', { outcome: 'executed' })).toBe(1);
    expect(delta('onceql_idempotency_outcomes_total', { outcome: 'replayed' })).toBe(1);
    expect(delta('onceql_idempotency_outcomes_total', { outcome: 'key_reused' })).toBe(1);
    expect(delta('onceql_idempotency_outcomes_total', { outcome: 'in_progress' })).toBe(0);

    // Limiter decisions: every admitted request, the one 429, the one shed.
    expect(delta('onceql_limiter_decisions_total', { limiter: 'rate', decision: 'admitted' })).toBe(answers.length);
    expect(delta('onceql_limiter_decisions_total', { limiter: 'rate', decision: 'refused' })).toBe(1);
    expect(delta('onceql_limiter_decisions_total', { limiter: 'shed', decision: 'refused' })).toBe(1);
    expect(delta('onceql_limiter_decisions_total', { limiter: 'concurrency', decision: 'admitted' })).toBe(answers.length);
    expect(delta('onceql_limiter_decisions_total', { limiter: 'concurrency', decision: 'refused' })).toBe(0);

    // Cost: charged what each admitted answer says it requested, refunded the unused part of the clean ones.
    const costOf = (response: GraphQLResponse) => response.body.extensions?.cost as { requestedQueryCost: number; actualQueryCost: number | null };
    const charged = answers.reduce((sum, response) => sum + costOf(response).requestedQueryCost, 0);
    expect(delta('onceql_query_cost_points_total', { direction: 'charged' })).toBe(charged);
    const refunded = answers
      .filter((response) => (response.body.errors ?? []).length === 0)
      .reduce((sum, response) => sum + costOf(response).requestedQueryCost - (costOf(response).actualQueryCost ?? 0), 0);
    expect(refunded).toBeGreaterThan(0);
    expect(delta('onceql_query_cost_points_total', { direction: 'refunded' })).toBe(refunded);

    // Redis scripts: one createTransfer per transfer request (the replay and the refusal are decided inside it).
    expect(delta('onceql_redis_script_duration_seconds_count', { script: 'createTransfer' })).toBe(3);
    // One admit per request that reached the admit step (all but the shed one).
    expect(delta('onceql_redis_script_duration_seconds_count', { script: 'admit' })).toBe(answers.length + 1);
    expect(delta('onceql_redis_script_errors_total')).toBe(0);
    expect(after.value('onceql_requests_in_flight')).toBe(0);
  });

  it('has no label that takes a caller-chosen value', async () => {
    const { apiKey } = await server.newTenant('labels');
    const marker = `Op${randomUUID().replace(/-/g, '')}`;
    await gql(server.url, `query ${marker} { viewer { tenant { id } } }`, {}, { 'api-key': apiKey, 'x-request-id': marker });
    await gql(server.url, `query ${marker}b { nope }`, {}, { 'api-key': apiKey });
    const metrics = await scrape(metricsUrl);
    expect(metrics.text).not.toContain(marker);
    expect(metrics.text).not.toContain(apiKey.slice(0, 20));
    expect(metrics.text).not.toContain('tenant=');
  });
});

describe('GET /metrics: Redis errors by script, and the tenant label when asked for', () => {
  let redisProcess: RedisProcess;
  let server: TestServer;

  beforeAll(async () => {
    redisProcess = await startRedisProcess();
    server = await startTestServer({ METRICS_PORT: '0', METRICS_HOST: '127.0.0.1', METRICS_TENANT_LABEL: 'true' }, redisProcess.url);
  });
  afterAll(async () => {
    await server.stop();
    await redisProcess.stop();
  });

  it('labels requests by tenant with METRICS_TENANT_LABEL, and counts a script that found Redis gone as unavailable', async () => {
    const { apiKey, tenantId } = await server.newTenant('labelled');
    const metricsUrl = server.metricsUrl as string;
    expect((await gql(server.url, AccountsDocument, { first: 1 }, { 'api-key': apiKey })).status).toBe(200);
    const before = await scrape(metricsUrl);
    expect(before.value('onceql_requests_total', { tenant: tenantId, code: 'OK' })).toBe(1);

    await redisProcess.stop();
    const down = await gql(server.url, AccountsDocument, { first: 1 }, { 'api-key': apiKey });
    expect(down.status).toBe(503);
    const after = await scrape(metricsUrl);
    expect(after.value('onceql_redis_script_errors_total', { script: 'admit', kind: 'unavailable' }) - before.value('onceql_redis_script_errors_total', { script: 'admit', kind: 'unavailable' })).toBe(1);
    expect(after.value('onceql_redis_script_errors_total') - before.value('onceql_redis_script_errors_total')).toBe(1);
    // Refused before the tenant was known: no tenant to name.
    expect(after.value('onceql_requests_total', { tenant: 'none', code: 'SERVICE_UNAVAILABLE', status: '503' })).toBe(1);
  });
});
