import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HttpLoad, Sample } from './load';
import { httpSample, raceSample } from './load';
import { accountQueryBody, transferBody } from './operations';
import { averageKeyBytes, usedMemory } from './redis';
import type { BenchResults, LimiterResult, RowResult, StorageResult } from './report';
import { checkResults, LIMITER_MODES, limiterReport, markdownReport, median, svgChart } from './report';
import type { Variant } from './variants';
import { runLimiter, startVariant } from './variants';

/**
 * `npm run bench [-- --quick]`: onceql beside its anchors, each server its own process on its own
 * redis-server, rows interleaved round by round (the machine's noise falls on every variant
 * alike; read the ratios). --quick: a short pass that checks every row comes out (CI).
 * --only limiter: the limiter head to head alone (printed, nothing written).
 */
/** The repository (this file runs as dist/bench/run.js). */
const ROOT = path.join(__dirname, '..', '..');
const quick = process.argv.includes('--quick');
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const settings = quick
  ? { rounds: 1, seconds: 1, warmupSeconds: 0, connections: 10, raceWidth: 50, storageTransfers: 300, limiterSeconds: 1, limiterRounds: 1 }
  : { rounds: 3, seconds: 5, warmupSeconds: 1, connections: 50, raceWidth: 50, storageTransfers: 3000, limiterSeconds: 3, limiterRounds: 3 };

/**
 * The limiters, each in a process of its own on a redis-server of its own, rounds interleaved (each
 * round starts one mode later): the median of decisions/s, the worst of the windowed counts.
 */
async function measureLimiters(): Promise<Record<string, LimiterResult>> {
  const runs = new Map<string, LimiterResult[]>(LIMITER_MODES.map((mode) => [mode, []]));
  for (let round = 0; round < settings.limiterRounds; round++) {
    for (let i = 0; i < LIMITER_MODES.length; i++) {
      const mode = LIMITER_MODES[(i + round) % LIMITER_MODES.length] as (typeof LIMITER_MODES)[number];
      const measured = (await runLimiter(`limiter-${mode}`, mode, settings.limiterSeconds, 100, 20)) as LimiterResult;
      runs.get(mode)?.push(measured);
      process.stderr.write(`bench: limiter round ${round + 1}/${settings.limiterRounds} ${mode}: ${measured.decisionsPerSecond.toFixed(0)} decisions/s\n`);
    }
  }
  const limiters: Record<string, LimiterResult> = {};
  for (const [mode, all] of runs) {
    limiters[mode] = {
      decisionsPerSecond: median(all.map((r) => r.decisionsPerSecond)),
      cpuMicrosPerDecision: median(all.map((r) => r.cpuMicrosPerDecision)),
      commandsPerDecision: median(all.map((r) => r.commandsPerDecision)),
      maxInAnySecond: Math.max(...all.map((r) => r.maxInAnySecond)),
      bound: all[0]?.bound ?? 0,
      rounds: all.map((r) => Math.round(r.decisionsPerSecond)),
    };
  }
  return limiters;
}

interface Row {
  readonly id: string;
  readonly label: string;
  readonly variant: string;
  readonly run: (variant: Variant, seconds: number) => Promise<Sample>;
}

let keys = 0;
/** A new idempotency key per request: each one executes. */
const freshKey = (prefix: string) => `${prefix}-${process.pid}-${(keys += 1)}`;

function http(load: (variant: Variant) => HttpLoad) {
  return (variant: Variant, seconds: number) => httpSample(variant, load(variant), settings.connections, { seconds });
}

const auth = (variant: Variant) => ({ 'api-key': variant.data.apiKey ?? '' });
const transferTo = (variant: Variant, key: () => string | null) => () => transferBody(variant.data.from ?? '', variant.data.to ?? '', key());

const ROWS: readonly Row[] = [
  { id: 'onceql.new', label: 'onceql: new transfer', variant: 'onceql', run: http((v) => ({ headers: auth(v), body: transferTo(v, () => freshKey('new')), fresh: true, expectStatus: 200 })) },
  { id: 'onceql.replay', label: 'onceql: replayed transfer', variant: 'onceql', run: http((v) => ({ headers: auth(v), body: transferTo(v, () => 'bench-replayed-key'), fresh: false, expectStatus: 200 })) },
  {
    id: 'onceql.race',
    label: `onceql: race of ${settings.raceWidth} duplicates`,
    variant: 'onceql',
    run: (v, seconds) => raceSample(v, auth(v), (key) => transferBody(v.data.from ?? '', v.data.to ?? '', key), settings.raceWidth, seconds),
  },
  { id: 'onceql.query', label: 'onceql: account + 20 transfers', variant: 'onceql', run: http((v) => ({ headers: auth(v), body: () => accountQueryBody(v.data.from ?? ''), fresh: false, expectStatus: 200 })) },
  { id: 'onceql.refusal', label: 'onceql: 429 refusal', variant: 'onceql', run: http((v) => ({ headers: { 'api-key': v.data.limitedKey ?? '' }, body: transferTo(v, () => 'bench-limited-key'), fresh: false, expectStatus: 429, tolerate: [200] })) },
  { id: 'anchor.echo', label: 'Apollo: echo mutation', variant: 'echo', run: http((v) => ({ headers: {}, body: transferTo(v, () => null), fresh: false, expectStatus: 200 })) },
  { id: 'anchor.evalsha', label: 'Apollo: echo + 2 EVALSHA', variant: 'echo-evalsha', run: http((v) => ({ headers: {}, body: transferTo(v, () => null), fresh: false, expectStatus: 200 })) },
  { id: 'anchor.shape', label: 'Apollo: query shape from memory', variant: 'shape', run: http((v) => ({ headers: {}, body: () => accountQueryBody(v.data.from ?? ''), fresh: false, expectStatus: 200 })) },
  { id: 'powertools.new', label: 'Powertools: new transfer', variant: 'powertools', run: http((v) => ({ headers: {}, body: transferTo(v, () => freshKey('pt')), fresh: true, expectStatus: 200 })) },
  { id: 'powertools.replay', label: 'Powertools: replayed transfer', variant: 'powertools', run: http((v) => ({ headers: {}, body: transferTo(v, () => 'bench-replayed-key'), fresh: false, expectStatus: 200 })) },
];

/** Bytes per record and per transfer: used_memory before and after new transfers, and MEMORY USAGE of the records. */
async function storage(variant: Variant, headers: Record<string, string>, recordPattern: string, transferPattern: string | null): Promise<StorageResult> {
  const before = await usedMemory(variant.redis.probe);
  // Between random pairs of a pool of accounts, as a ledger's transfers are spread (with two
  // accounts only, their indexes would outgrow Redis's compact encoding at once).
  const pool = (variant.data.pool ?? '').split(',');
  const pick = () => pool[Math.floor(Math.random() * pool.length)] ?? '';
  const body = () => {
    const from = pick();
    let to = pick();
    while (to === from && pool.length > 1) to = pick();
    return transferBody(from, to, freshKey('storage'));
  };
  const load: HttpLoad = { headers, body, fresh: true, expectStatus: 200 };
  const sample = await httpSample(variant, load, 10, { amount: settings.storageTransfers });
  const after = await usedMemory(variant.redis.probe);
  return {
    transfers: sample.expected,
    bytesPerTransferInAll: sample.expected === 0 ? 0 : (after - before) / sample.expected,
    bytesPerRecord: (await averageKeyBytes(variant.redis.probe, recordPattern)) ?? 0,
    bytesPerTransferRow: transferPattern === null ? null : await averageKeyBytes(variant.redis.probe, transferPattern),
  };
}

async function main(): Promise<void> {
  if (only === 'limiter') {
    process.stdout.write(limiterReport(await measureLimiters()));
    return;
  }
  if (only !== undefined) throw new Error(`--only ${only}: only "limiter" is known`);
  const started = Date.now();
  const variants = new Map<string, Variant>();
  try {
    for (const [name, script, mode] of [
      ['onceql', 'onceql', ''],
      ['echo', 'anchor', 'echo'],
      ['echo-evalsha', 'anchor', 'echo-evalsha'],
      ['shape', 'anchor', 'shape'],
      ['powertools', 'anchor', 'powertools'],
    ] as const) {
      variants.set(name, await startVariant(name, script, mode));
    }
    const variantOf = (row: Row) => variants.get(row.variant) as Variant;

    // The replayed rows replay a key that has executed once.
    for (const name of ['onceql', 'powertools']) {
      const variant = variants.get(name) as Variant;
      await httpSample(variant, { headers: name === 'onceql' ? auth(variant) : {}, body: transferTo(variant, () => 'bench-replayed-key'), fresh: false, expectStatus: 200 }, 1, { amount: 1 });
    }
    // The limited key's burst is spent before the refusal row (after that it admits 1 per second).
    const limited = variants.get('onceql') as Variant;
    await httpSample(limited, { headers: { 'api-key': limited.data.limitedKey ?? '' }, body: transferTo(limited, () => 'bench-limited-key'), fresh: false, expectStatus: 429, tolerate: [200] }, 10, { amount: 1100 });
    if (settings.warmupSeconds > 0) for (const row of ROWS) await row.run(variantOf(row), settings.warmupSeconds);

    const samples = new Map<string, Sample[]>(ROWS.map((row) => [row.id, []]));
    for (let round = 0; round < settings.rounds; round++) {
      // Each round starts one row later, so no variant always runs first or last.
      for (let i = 0; i < ROWS.length; i++) {
        const row = ROWS[(i + round) % ROWS.length] as Row;
        const sample = await row.run(variantOf(row), settings.seconds);
        samples.get(row.id)?.push(sample);
        process.stderr.write(`bench: round ${round + 1}/${settings.rounds} ${row.label}: ${sample.requestsPerSecond.toFixed(0)} req/s\n`);
      }
    }

    const rows: RowResult[] = ROWS.map((row) => {
      const all = samples.get(row.id) ?? [];
      const sum = (pick: (sample: Sample) => number) => all.reduce((total, sample) => total + pick(sample), 0);
      return {
        id: row.id,
        label: row.label,
        requests: sum((s) => s.requests),
        requestsPerSecond: median(all.map((s) => s.requestsPerSecond)),
        p50Ms: median(all.map((s) => s.p50Ms)),
        p99Ms: median(all.map((s) => s.p99Ms)),
        cpuMicrosPerRequest: median(all.map((s) => s.cpuMicrosPerRequest)),
        roundTripsPerRequest: median(all.map((s) => s.roundTripsPerRequest)),
        redisCommandsPerRequest: median(all.map((s) => s.redisCommandsPerRequest)),
        expected: sum((s) => s.expected),
        unexpected: sum((s) => s.unexpected),
        statuses: all.reduce<Record<string, number>>((total, sample) => {
          for (const [code, count] of Object.entries(sample.statuses)) total[code] = (total[code] ?? 0) + count;
          return total;
        }, {}),
      };
    });

    const onceql = variants.get('onceql') as Variant;
    const powertools = variants.get('powertools') as Variant;
    const storageResults = {
      onceql: await storage(onceql, auth(onceql), 'oq:*:i:*', 'oq:*:transfer:*'),
      powertools: await storage(powertools, {}, 'bench#*', null),
    };

    const limiters = await measureLimiters();

    const results: BenchResults = {
      quick,
      date: new Date().toISOString(),
      seconds: Math.round((Date.now() - started) / 1000),
      machine: { cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`, memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`, os: `${os.type()} ${os.release()}`, load: os.loadavg().map((l) => l.toFixed(2)).join(' ') },
      versions: { node: process.version, ...versions() },
      settings,
      rows,
      storage: storageResults,
      limiters,
    };
    process.stdout.write(markdownReport(results));
    const problems = checkResults(results);
    if (!quick) {
      writeFileSync(path.join(ROOT, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
      writeFileSync(path.join(ROOT, 'bench', 'chart.svg'), svgChart(results));
      process.stderr.write('bench: wrote bench/results.json and bench/chart.svg\n');
    }
    if (problems.length > 0) {
      process.stderr.write(`bench: missing or wrong rows:\n${problems.map((p) => `  - ${p}`).join('\n')}\n`);
      process.exitCode = 1;
    }
  } finally {
    for (const variant of variants.values()) await variant.stop();
  }
}

function versions(): Record<string, string> {
  const read = (name: string) => {
    try {
      return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  let redisVersion = 'unknown';
  try {
    redisVersion = /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    // reported as unknown
  }
  return {
    redis: redisVersion,
    '@apollo/server': read('@apollo/server'),
    graphql: read('graphql'),
    'type-graphql': read('type-graphql'),
    ioredis: read('ioredis'),
    autocannon: read('autocannon'),
    '@aws-lambda-powertools/idempotency': read('@aws-lambda-powertools/idempotency'),
    'rate-limiter-flexible': read('rate-limiter-flexible'),
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
