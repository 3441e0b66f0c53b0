import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ALL_SCRIPTS } from '../../src/scripts';
import { AccountsDocument } from '../generated/graphql';
import { ledgerClient } from '../helpers/ledger';
import type { RedisProcess } from '../helpers/redis-process';
import { startRedisProcess } from '../helpers/redis-process';
import type { GraphQLResponse, TestServer } from '../helpers/server';
import { codes, connectTestRedis, gql, startTestServer } from '../helpers/server';
import { scrape, scrapeUntil } from './scrape';

const SCRIPT_BY_SHA = new Map(ALL_SCRIPTS.map((script) => [script.sha1, script.name]));

/**
 * Far more concurrent requests than the process takes. Redis is frozen (SIGSTOP) while they
 * arrive, so the requests that got in stay in flight for as long as the test needs, and anything
 * answered meanwhile was answered without Redis. Every command Redis receives is counted (MONITOR
 * on a redis-server of this test's own), not timed.
 */
describe('overload: per-tenant in-flight limit and load shedding', () => {
  let redisProcess: RedisProcess;
  let server: TestServer;
  let monitorClient: Redis;
  let monitor: Redis;
  let probe: Redis;
  const seen: string[][] = [];

  beforeAll(async () => {
    redisProcess = await startRedisProcess();
    server = await startTestServer(
      {
        METRICS_PORT: '0',
        METRICS_HOST: '127.0.0.1',
        // Requests wait for the frozen Redis instead of timing out.
        REDIS_COMMAND_TIMEOUT_MS: '60000',
        TENANT_MAX_IN_FLIGHT: '3',
        SHED_READS_IN_FLIGHT: '8',
        SHED_WRITES_IN_FLIGHT: '10',
      },
      redisProcess.url,
    );
    monitorClient = (await connectTestRedis(redisProcess.url)) as Redis;
    probe = (await connectTestRedis(redisProcess.url)) as Redis;
    monitor = await monitorClient.monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua') seen.push(args);
    });
  });
  afterAll(async () => {
    process.kill(redisProcess.pid, 'SIGCONT');
    monitor.disconnect();
    monitorClient.disconnect();
    probe.disconnect();
    await server.stop();
    await redisProcess.stop();
  });

  /** The commands Redis ran since the last call, by script name (other commands by their own name). */
  async function takeCommands(): Promise<Record<string, number>> {
    const marker = `marker-${randomUUID()}`;
    await probe.get(marker);
    const deadline = Date.now() + 10_000;
    while (!seen.some((args) => args.includes(marker)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    const counts: Record<string, number> = {};
    for (const args of seen.splice(0)) {
      if (args.includes(marker)) continue;
      const command = String(args[0]).toLowerCase();
      const name = command === 'evalsha' ? (SCRIPT_BY_SHA.get(String(args[1])) ?? 'unknown script') : command === 'eval' ? 'eval' : command;
      counts[name] = (counts[name] ?? 0) + 1;
    }
    return counts;
  }

  it('answers the excess 503 (reads first) or 429 CONCURRENCY_LIMITED before touching Redis, while /healthz answers', async () => {
    const { apiKey } = await server.newTenant('overload');
    const ledger = ledgerClient(server.url, apiKey);
    const funding = await ledger.account('funding', 'EUR', true);
    const target = await ledger.account('target');
    // Loads createTransfer into the script cache: every later call is one EVALSHA.
    expect((await ledger.transfer(funding, target, '1')).status).toBe(200);
    // Another tenant, in flight at the same time: the first tenant's limit is not its limit.
    const other = ledgerClient(server.url, (await server.newTenant('overload-other')).apiKey);
    const otherFunding = await other.account('funding', 'EUR', true);
    const otherTarget = await other.account('target');
    const metricsUrl = server.metricsUrl as string;
    const before = await scrape(metricsUrl);
    await takeCommands();

    const read = () => gql(server.url, AccountsDocument, { first: 5 }, ledger.headers);
    const write = () => ledger.transfer(funding, target, '1');
    const health = async () => (await fetch(`${server.origin}/healthz`)).status;
    const ready = async () => {
      const response = await fetch(`${server.origin}/readyz`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };

    process.kill(redisProcess.pid, 'SIGSTOP');
    let held: Promise<GraphQLResponse>[] = [];
    let otherHeld: Promise<GraphQLResponse> | undefined;
    let sheds: GraphQLResponse[];
    try {
      // 8 writes in flight (waiting for Redis), one of them the other tenant's: queries are shed, writes still come in.
      otherHeld = other.transfer(otherFunding, otherTarget, '1');
      held = Array.from({ length: 7 }, write);
      await scrapeUntil(metricsUrl, (metrics) => metrics.value('onceql_requests_in_flight') === 8);
      expect(await ready()).toEqual({ status: 503, body: { status: 'shedding load', shedding: 'reads' } });
      expect(await health()).toBe(200);
      // Queries, and requests without a key (each would cost a Redis call to count the failure).
      const anonymous = () => gql(server.url, '{ viewer { tenant { id } } }', {});
      const shedReads = await Promise.all([...Array.from({ length: 6 }, read), ...Array.from({ length: 4 }, anonymous)]);
      held.push(write(), write());
      await scrapeUntil(metricsUrl, (metrics) => metrics.value('onceql_requests_in_flight') === 10);

      // 10 in flight: everything is shed.
      expect(await ready()).toEqual({ status: 503, body: { status: 'shedding load', shedding: 'all' } });
      const flood = await Promise.all([...Array.from({ length: 20 }, write), ...Array.from({ length: 20 }, read)]);
      expect(await health()).toBe(200);
      // All of it answered while Redis was frozen: none of it waited for Redis.
      sheds = [...shedReads, ...flood];
    } finally {
      process.kill(redisProcess.pid, 'SIGCONT');
    }

    for (const shed of sheds) {
      expect(shed.status).toBe(503);
      expect(codes(shed)).toEqual(['SERVICE_UNAVAILABLE']);
      expect(shed.headers.get('retry-after')).toBe('1');
    }

    // The 10 in flight were admitted together: the first tenant's first 3 run and its 6 others get
    // 429; the other tenant's one runs.
    const answers = await Promise.all(held);
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429, 429]);
    expect((await otherHeld)?.status).toBe(200);
    for (const limited of answers.filter((answer) => answer.status === 429)) {
      expect(codes(limited)).toEqual(['CONCURRENCY_LIMITED']);
      expect(limited.headers.get('retry-after')).toBe('1');
      expect(limited.headers.get('ratelimit')).toMatch(/^"tenant";r=\d+;t=\d+$/);
    }
    // Redis, running again, got one admit per request let in and one transfer per request that
    // ran: nothing from the 50 shed, nor from the 6 limited after their admit.
    const commands = await takeCommands();
    // (A refund of unused query cost, should the transfer's estimate ever exceed what it returns, is not the point here.)
    delete commands.refundCost;
    expect(commands).toEqual({ admit: 10, createTransfer: 4 });

    const after = await scrapeUntil(metricsUrl, (metrics) => metrics.value('onceql_requests_in_flight') === 0);
    const delta = (name: string, labels?: Record<string, string>) => after.value(name, labels) - before.value(name, labels);
    expect(delta('onceql_limiter_decisions_total', { limiter: 'shed', decision: 'refused' })).toBe(50);
    expect(delta('onceql_limiter_decisions_total', { limiter: 'concurrency', decision: 'refused' })).toBe(6);
    expect(delta('onceql_requests_total', { code: 'CONCURRENCY_LIMITED', status: '429' })).toBe(6);
    expect(await ready()).toEqual({ status: 200, body: { status: 'ready' } });
    // And the tenant is served again.
    expect((await write()).status).toBe(200);
  });
});
