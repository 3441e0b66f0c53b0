/** What the bench found, as a markdown report, a JSON file and an SVG chart. */
import { POOL_SIZE } from './child';

export interface RowResult {
  readonly id: string;
  readonly label: string;
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuMicrosPerRequest: number;
  readonly roundTripsPerRequest: number;
  readonly redisCommandsPerRequest: number;
  readonly expected: number;
  readonly unexpected: number;
  readonly statuses: Readonly<Record<string, number>>;
}

export interface StorageResult {
  readonly transfers: number;
  readonly bytesPerTransferInAll: number;
  readonly bytesPerRecord: number;
  readonly bytesPerTransferRow: number | null;
}

export interface LimiterResult {
  readonly decisionsPerSecond: number;
  /** The limiter process's CPU per decision (µs). */
  readonly cpuMicrosPerDecision: number;
  /** Redis commands per decision: round trips. */
  readonly commandsPerDecision: number;
  readonly maxInAnySecond: number;
  /** rate · 1 s + burst: what GCRA may admit in any second (flexible's fixed window has none). */
  readonly bound: number;
  /** Decisions/s of each round (the median is `decisionsPerSecond`). */
  readonly rounds?: readonly number[];
}

/**
 * The limiter head to head (bench/servers/limiter.ts): the package's limiter and
 * rate-limiter-flexible do the same work (one key, one decision); onceql's admit is what every
 * onceql request pays (auth + GCRA + cost budget), shown beside them, not compared.
 */
export const LIMITER_MODES = ['onceql', 'flexible', 'onceql-admit'] as const;

const LIMITER_LABELS: Record<(typeof LIMITER_MODES)[number], string> = {
  onceql: '@onceql/ratelimit RateLimiter (GCRA, 100/s burst 20)',
  flexible: 'rate-limiter-flexible RateLimiterRedis (fixed window, 100 points / 1 s)',
  'onceql-admit': 'onceql admit: api-key auth + GCRA + cost budget, one script (every request pays it)',
};

/** The limiter table, markdown. */
export function limiterReport(limiters: Readonly<Record<string, LimiterResult>>): string {
  const lines = [
    `| limiter (Redis, no HTTP, 50 callers) | decisions/s | CPU µs/decision | Redis commands/decision | most admitted in any second at 100/s | bound (rate·1 s + burst) |`,
    `|---|---:|---:|---:|---:|---:|`,
  ];
  for (const mode of LIMITER_MODES) {
    const limiter = limiters[mode];
    if (limiter === undefined) continue;
    const bound = mode === 'flexible' ? '— (2 × 100 across a window edge)' : String(limiter.bound);
    lines.push(`| ${LIMITER_LABELS[mode]} | ${fixed(limiter.decisionsPerSecond)} | ${fixed(limiter.cpuMicrosPerDecision, 1)} | ${fixed(limiter.commandsPerDecision, 2)} | ${limiter.maxInAnySecond} | ${bound} |`);
  }
  const onceql = limiters.onceql;
  const flexible = limiters.flexible;
  if (onceql && flexible && flexible.decisionsPerSecond > 0) lines.push('', `RateLimiter ÷ rate-limiter-flexible: ${fixed(onceql.decisionsPerSecond / flexible.decisionsPerSecond, 2)}× decisions/s (same work: one key, one decision, one EVALSHA each).`);
  return `${lines.join('\n')}\n`;
}

export interface BenchResults {
  readonly quick: boolean;
  readonly date: string;
  readonly seconds: number;
  readonly machine: Record<string, string>;
  readonly versions: Record<string, string>;
  readonly settings: Record<string, number>;
  readonly rows: readonly RowResult[];
  readonly storage: { readonly onceql: StorageResult; readonly powertools: StorageResult };
  readonly limiters: Record<string, LimiterResult>;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

interface Target {
  readonly what: string;
  readonly value: number;
  readonly target: string;
  readonly met: boolean;
  readonly unit: string;
}

/** The issue's targets, each measured. */
export function targets(results: BenchResults): Target[] {
  const rps = (id: string) => results.rows.find((row) => row.id === id)?.requestsPerSecond ?? 0;
  const row = (id: string) => results.rows.find((r) => r.id === id);
  const ratio = (a: string, b: string) => (rps(b) === 0 ? 0 : rps(a) / rps(b));
  const onceqlLimiter = results.limiters.onceql;
  const flexible = results.limiters.flexible;
  const admit = results.limiters['onceql-admit'];
  const at = (value: number, target: number, unit = '×', atMost = false): Target => ({ what: '', value, target: `${atMost ? '≤' : '≥'} ${target}${unit === '×' ? '×' : ` ${unit}`}`, met: atMost ? value <= target : value >= target, unit });
  return [
    { ...at(ratio('onceql.new', 'anchor.evalsha'), 0.85), what: 'new transfer ÷ Apollo echo + 2 EVALSHA' },
    { ...at(ratio('onceql.replay', 'onceql.new'), 1), what: 'replayed ÷ new transfer' },
    { ...at(ratio('onceql.query', 'anchor.shape'), 0.6), what: 'account + 20 transfers ÷ same shape from memory' },
    { ...at(ratio('onceql.new', 'powertools.new'), 3), what: 'new transfer ÷ Powertools new' },
    { ...at(ratio('onceql.replay', 'powertools.replay'), 3), what: 'replayed transfer ÷ Powertools replayed' },
    { ...at(flexible && onceqlLimiter ? onceqlLimiter.decisionsPerSecond / flexible.decisionsPerSecond : 0, 1), what: 'RateLimiter decisions/s ÷ rate-limiter-flexible (one key, one decision)' },
    { ...at(onceqlLimiter?.maxInAnySecond ?? Infinity, onceqlLimiter?.bound ?? 0, 'requests', true), what: 'RateLimiter: most admitted in any second at 100/s, burst 20' },
    { ...at(admit?.maxInAnySecond ?? Infinity, admit?.bound ?? 0, 'requests', true), what: 'onceql admit: most admitted in any second at 100/s, burst 20' },
    { ...at(results.storage.onceql.bytesPerRecord, 250, 'B', true), what: 'bytes per idempotency record' },
    { ...at(results.storage.onceql.bytesPerTransferInAll, 700, 'B', true), what: 'bytes per transfer in all' },
    // Averages over a load: a few hundredths above 2 are requests whose commands straddle the
    // measurement's edges; test/integration/truth-outcome-replay.test.ts counts them exactly.
    { ...at(roundTrips(row('onceql.new')), 2, 'round trips', true), what: 'Redis round trips, new transfer' },
    { ...at(roundTrips(row('onceql.replay')), 2, 'round trips', true), what: 'Redis round trips, replayed transfer' },
  ];
}

const roundTrips = (row: RowResult | undefined) => (row === undefined ? Infinity : Math.round(row.roundTripsPerRequest * 10) / 10);

const fixed = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : '—');

export function markdownReport(results: BenchResults): string {
  const lines: string[] = [];
  lines.push(`| scenario | req/s | p50 ms | p99 ms | server CPU µs/req | Redis round trips/req | Redis commands/req |`);
  lines.push(`|---|---:|---:|---:|---:|---:|---:|`);
  for (const row of results.rows) {
    lines.push(`| ${row.label} | ${fixed(row.requestsPerSecond)} | ${fixed(row.p50Ms, 1)} | ${fixed(row.p99Ms, 1)} | ${fixed(row.cpuMicrosPerRequest)} | ${fixed(row.roundTripsPerRequest, 2)} | ${fixed(row.redisCommandsPerRequest, 1)} |`);
  }
  const { onceql, powertools } = results.storage;
  lines.push('');
  lines.push(`| storage (after ${onceql.transfers} new transfers among ${POOL_SIZE} accounts) | onceql | Powertools |`);
  lines.push(`|---|---:|---:|`);
  lines.push(`| bytes per idempotency record (MEMORY USAGE) | ${fixed(onceql.bytesPerRecord)} | ${fixed(powertools.bytesPerRecord)} |`);
  lines.push(`| bytes per transfer row (MEMORY USAGE) | ${fixed(onceql.bytesPerTransferRow ?? NaN)} | — |`);
  lines.push(`| bytes per transfer in all (used_memory delta) | ${fixed(onceql.bytesPerTransferInAll)} | ${fixed(powertools.bytesPerTransferInAll)} |`);
  lines.push('');
  lines.push(limiterReport(results.limiters));
  lines.push(`| target | measured | wanted | met |`);
  lines.push(`|---|---:|---:|:-:|`);
  for (const target of targets(results)) {
    const value = target.unit === '×' ? `${fixed(target.value, 2)}×` : `${fixed(target.value, target.unit === 'round trips' ? 2 : 0)} ${target.unit}`;
    lines.push(`| ${target.what} | ${value} | ${target.target} | ${target.met ? 'yes' : '**no**'} |`);
  }
  lines.push('');
  lines.push(`${results.quick ? 'Quick pass (not a measurement)' : 'Full run'}: ${results.date}, ${results.seconds} s; ${results.machine.cpus}, load ${results.machine.load}; node ${results.versions.node}, redis ${results.versions.redis}.`);
  return `${lines.join('\n')}\n`;
}

/** What must come out of every run, quick or not: every row answered as expected. Never a timing. */
export function checkResults(results: BenchResults): string[] {
  const problems: string[] = [];
  for (const row of results.rows) {
    if (row.requests === 0 || row.expected === 0) problems.push(`${row.label}: no answer with the expected status`);
    if (row.unexpected > 0) problems.push(`${row.label}: ${row.unexpected} unexpected answers (by status: ${JSON.stringify(row.statuses)})`);
  }
  for (const [name, storage] of Object.entries(results.storage)) {
    if (storage.transfers === 0 || storage.bytesPerRecord <= 0) problems.push(`storage ${name}: nothing measured`);
  }
  for (const name of LIMITER_MODES) {
    const limiter = results.limiters[name];
    if (limiter === undefined || !(limiter.decisionsPerSecond > 0) || !(limiter.maxInAnySecond > 0)) problems.push(`limiter ${name}: nothing measured`);
    // Admitted more than GCRA allows in a second: a broken limiter, whatever the timing.
    else if (name !== 'flexible' && limiter.maxInAnySecond > limiter.bound) problems.push(`limiter ${name}: admitted ${limiter.maxInAnySecond} in one second, above rate·1 s + burst = ${limiter.bound}`);
  }
  return problems;
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A horizontal bar chart of req/s per row (onceql blue, anchors grey), drawn by hand. */
export function svgChart(results: BenchResults): string {
  const width = 760;
  const labelWidth = 250;
  const barHeight = 22;
  const gap = 8;
  const top = 40;
  const max = Math.max(1, ...results.rows.map((row) => row.requestsPerSecond));
  const scale = (width - labelWidth - 90) / max;
  const height = top + results.rows.length * (barHeight + gap) + 30;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="12" y="24" font-size="15" font-weight="600">npm run bench: requests per second (median of ${results.settings.rounds} interleaved rounds, ${results.settings.connections} connections)</text>`,
  ];
  results.rows.forEach((row, i) => {
    const y = top + i * (barHeight + gap);
    const barWidth = Math.max(1, row.requestsPerSecond * scale);
    const colour = row.id.startsWith('onceql') ? '#2f6fdf' : row.id.startsWith('powertools') ? '#e39b2f' : '#9aa3ad';
    parts.push(`<text x="${labelWidth - 8}" y="${y + barHeight / 2 + 4}" text-anchor="end">${escape(row.label)}</text>`);
    parts.push(`<rect x="${labelWidth}" y="${y}" width="${barWidth.toFixed(1)}" height="${barHeight}" fill="${colour}" rx="2"/>`);
    parts.push(`<text x="${(labelWidth + barWidth + 6).toFixed(1)}" y="${y + barHeight / 2 + 4}">${row.requestsPerSecond.toFixed(0)}</text>`);
  });
  parts.push(`<text x="12" y="${height - 10}" fill="#555">${escape(`${results.machine.cpus}; node ${results.versions.node}; redis ${results.versions.redis}; ${results.date}`)}</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
