import http from 'node:http';
import autocannon from 'autocannon';
import type { ChildStats } from './child';
import type { Variant } from './variants';
import { commandsExecuted } from './redis';

/** One timed run of one row against one variant. */
export interface Sample {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuMicrosPerRequest: number;
  readonly roundTripsPerRequest: number;
  readonly redisCommandsPerRequest: number;
  /** Answers with the status the row expects (200, or 429 for the refusal). */
  readonly expected: number;
  readonly unexpected: number;
  /** Answers by HTTP status, for telling what went wrong. */
  readonly statuses: Readonly<Record<string, number>>;
}

export interface HttpLoad {
  readonly headers: Record<string, string>;
  /** A body per request; called for every request when `fresh` (new idempotency keys). */
  body(): string;
  readonly fresh: boolean;
  readonly expectStatus: number;
  /** Statuses that are neither expected nor wrong (the limited key's 1 request per second). */
  readonly tolerate?: readonly number[];
}

/** The server's counters once the requests still in flight when the load stopped are done. */
async function settled(variant: Variant): Promise<ChildStats> {
  let last = await variant.stats();
  for (let i = 0; i < 40; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = await variant.stats();
    if (now.requests === last.requests && now.redisCommands === last.redisCommands) return now;
    last = now;
  }
  return last;
}

interface LoadRun {
  readonly requests: number;
  readonly seconds: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly expected: number;
  readonly unexpected: number;
  readonly statuses: Readonly<Record<string, number>>;
}

/**
 * Measures the server process and its Redis around a load: CPU, round trips and commands per
 * request the server received (requests in flight when the load stops count on both sides).
 */
async function measured(variant: Variant, load: () => Promise<LoadRun>): Promise<Sample> {
  const before = await variant.stats();
  const commandsBefore = await commandsExecuted(variant.redis.probe);
  const run = await load();
  const after = await settled(variant);
  const commandsAfter = await commandsExecuted(variant.redis.probe);
  const served = after.requests - before.requests;
  const per = (value: number) => (served === 0 ? 0 : value / served);
  return {
    requests: run.requests,
    requestsPerSecond: run.seconds === 0 ? 0 : run.requests / run.seconds,
    p50Ms: run.p50Ms,
    p99Ms: run.p99Ms,
    cpuMicrosPerRequest: per(after.cpuMicros - before.cpuMicros),
    roundTripsPerRequest: per(after.redisCommands - before.redisCommands),
    redisCommandsPerRequest: per(commandsAfter - commandsBefore),
    expected: run.expected,
    unexpected: run.unexpected,
    statuses: run.statuses,
  };
}

/** autocannon, `connections` keep-alive connections, for `seconds` (or `amount` requests). */
export function httpSample(variant: Variant, load: HttpLoad, connections: number, limit: { seconds: number } | { amount: number }): Promise<Sample> {
  return measured(variant, async () => {
    const base = { method: 'POST', path: '/graphql', headers: { 'content-type': 'application/json', ...load.headers } };
    const fixedBody = load.body();
    const result = await autocannon({
      url: `http://127.0.0.1:${variant.port}`,
      connections,
      timeout: 10,
      ...('seconds' in limit ? { duration: limit.seconds } : { amount: limit.amount }),
      requests: [load.fresh ? { ...base, setupRequest: (request) => ({ ...request, body: load.body() }) } : { ...base, body: fixedBody }],
    });
    const codes = result.statusCodeStats ?? {};
    const expected = codes[String(load.expectStatus)]?.count ?? 0;
    const answered = Object.values(codes).reduce((sum, { count }) => sum + count, 0);
    const tolerated = (load.tolerate ?? []).reduce((sum, status) => sum + (codes[String(status)]?.count ?? 0), 0);
    return {
      requests: answered,
      seconds: result.duration,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      expected,
      unexpected: answered - expected - tolerated + result.errors + result.timeouts,
      statuses: Object.fromEntries(Object.entries(codes).map(([code, { count }]) => [code, count])),
    };
  });
}

/**
 * Races of `width` identical requests (one idempotency key per race, sent at once on `width`
 * connections), one race after another for `seconds`. Expected: one answer per race executed,
 * the others replayed (Idempotent-Replayed) or told IN_PROGRESS, never a second execution.
 */
export function raceSample(variant: Variant, headers: Record<string, string>, body: (key: string) => string, width: number, seconds: number): Promise<Sample> {
  return measured(variant, async () => {
    // Its own keep-alive connections, closed at the end: at most `width`, like autocannon's.
    const agent = new http.Agent({ keepAlive: true, maxSockets: width });
    const post = (text: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = http.request({ host: '127.0.0.1', port: variant.port, path: '/graphql', method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } }, (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          response.on('error', reject);
        });
        request.on('error', reject);
        request.end(text);
      });
    const latencies: number[] = [];
    let races = 0;
    let executedOnce = 0;
    let unexpected = 0;
    const statuses: Record<string, number> = {};
    const started = performance.now();
    const until = started + seconds * 1000;
    while (performance.now() < until || races === 0) {
      const key = `race-${process.pid}-${Date.now()}-${races}`;
      const text = body(key);
      const answers = await Promise.all(
        Array.from({ length: width }, async () => {
          const sent = performance.now();
          const response = await post(text);
          const json = JSON.parse(response.body) as { extensions?: { idempotency?: { status?: string }[] } };
          latencies.push(performance.now() - sent);
          statuses[response.status] = (statuses[response.status] ?? 0) + 1;
          return { status: response.status, executed: json.extensions?.idempotency?.some((entry) => entry.status === 'EXECUTED') ?? false };
        }),
      );
      races += 1;
      if (answers.filter((answer) => answer.executed).length === 1) executedOnce += 1;
      unexpected += answers.filter((answer) => answer.status !== 200 && answer.status !== 409).length;
    }
    const elapsed = (performance.now() - started) / 1000;
    agent.destroy();
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    return { requests: races * width, seconds: elapsed, p50Ms: at(0.5), p99Ms: at(0.99), expected: executedOnce * width, unexpected: unexpected + (races - executedOnce) * width, statuses };
  });
}
