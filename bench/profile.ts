import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { httpSample } from './load';
import { accountQueryBody, transferBody } from './operations';
import { startVariant } from './variants';

/**
 * `node dist/bench/profile.js [seconds]`: onceql under `node --cpu-prof`, once for new transfers
 * and once for the account + 20 transfers query: the frames with the most self time and onceql's
 * frames with the most total time, over the samples taken while the load ran. With
 * `PROFILE_KEEP_DIR=<dir>`, the whole profiles are kept there (open them in Chrome's DevTools).
 */
interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  /** Microseconds from the previous sample (from `startTime` for the first). */
  readonly timeDeltas?: readonly number[];
}

/**
 * The profile cut to the samples taken between `fromMicros` and `toMicros` (V8's clock, which is
 * `process.hrtime`'s monotonic clock in µs), with hit counts recounted: the load only, without the
 * server's start-up (module loading, schema building) or its idle time after the load.
 */
export function withinWindow(profile: CpuProfile, fromMicros: number, toMicros: number): CpuProfile {
  const deltas = profile.timeDeltas ?? [];
  const hits = new Map<number, number>();
  const samples: number[] = [];
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    at += deltas[index] ?? 0;
    if (at < fromMicros || at > toMicros) return;
    samples.push(id);
    hits.set(id, (hits.get(id) ?? 0) + 1);
  });
  return { ...profile, samples, nodes: profile.nodes.map((node) => ({ ...node, hitCount: hits.get(node.id) ?? 0 })) };
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url === '' ? '' : ` ${url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/packages\/([^/]+)\/dist\//, '@onceql/$1/').replace(/^.*\/dist\//, '')}:${lineNumber + 1}`;
  return `${functionName === '' ? '(anonymous)' : functionName}${file}`;
}

/**
 * Total time per frame (its own and its callees', each sample counted once per frame however
 * deep the recursion), the top `count` whose name matches `filter`, as shares of all samples.
 */
export function inclusiveFrames(profile: CpuProfile, count: number, filter: (frame: string) => boolean): { frame: string; share: number }[] {
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const total = profile.samples.length;
  const byFrame = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parentOf.get(id)) {
      const ancestor = byId.get(id);
      if (ancestor === undefined) break;
      const frame = frameName(ancestor);
      if (seen.has(frame)) continue;
      seen.add(frame);
      byFrame.set(frame, (byFrame.get(frame) ?? 0) + hits);
    }
  }
  return [...byFrame.entries()]
    .filter(([frame]) => filter(frame))
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([frame, hits]) => ({ frame, share: total === 0 ? 0 : hits / total }));
}

/** Self time per frame (function, file:line), the top `count`, as shares of all samples. */
export function topFrames(profile: CpuProfile, count: number): { frame: string; share: number }[] {
  const total = profile.samples.length;
  const byFrame = new Map<string, number>();
  for (const node of profile.nodes) {
    const frame = frameName(node);
    byFrame.set(frame, (byFrame.get(frame) ?? 0) + (node.hitCount ?? 0));
  }
  return [...byFrame.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([frame, hits]) => ({ frame, share: total === 0 ? 0 : hits / total }));
}

/** Self time grouped by where the code lives: a package, a folder of onceql, node's own, or V8's. */
export function selfTimeByPlace(profile: CpuProfile): { place: string; share: number }[] {
  const total = profile.samples.length;
  const byPlace = new Map<string, number>();
  for (const node of profile.nodes) {
    const { functionName, url } = node.callFrame;
    const packageMatch = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    const sourceMatch = /dist\/(src\/[^/]+|bench)\//.exec(url);
    const workspaceMatch = /packages\/([^/]+)\/dist\//.exec(url);
    const place = packageMatch
      ? (packageMatch[1] ?? url)
      : workspaceMatch
        ? `@onceql/${workspaceMatch[1] ?? url}`
        : sourceMatch
        ? (sourceMatch[1] ?? url)
        : url.startsWith('node:')
          ? 'node (internals)'
          : url === ''
            ? functionName.startsWith('(') ? functionName : 'node/V8 (native)'
            : 'other';
    byPlace.set(place, (byPlace.get(place) ?? 0) + (node.hitCount ?? 0));
  }
  return [...byPlace.entries()].sort((a, b) => b[1] - a[1]).map(([place, hits]) => ({ place, share: total === 0 ? 0 : hits / total }));
}

/** Now on V8's profiler clock (CLOCK_MONOTONIC), in microseconds. */
function micros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

async function profileOf(name: string, seconds: number, body: (data: Readonly<Record<string, string>>) => () => string, fresh: boolean): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onceql-profile-'));
  let window = { from: 0, to: Number.MAX_SAFE_INTEGER };
  const variant = await startVariant(name, 'onceql', '', { cpuProfileDir: dir });
  try {
    const load = { headers: { 'api-key': variant.data.apiKey ?? '' }, body: body(variant.data), fresh, expectStatus: 200 };
    const started = micros();
    const sample = await httpSample(variant, load, 50, { seconds });
    window = { from: started, to: micros() };
    process.stdout.write(`\n### ${name}: ${sample.requestsPerSecond.toFixed(0)} req/s under the profiler, ${sample.cpuMicrosPerRequest.toFixed(0)} µs CPU per request\n\n`);
  } finally {
    await variant.stop();
  }
  const file = readdirSync(dir).find((entry) => entry.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`${name}: no profile written`);
  const text = readFileSync(path.join(dir, file), 'utf8');
  const keep = process.env.PROFILE_KEEP_DIR;
  if (keep !== undefined && keep !== '') writeFileSync(path.join(keep, `${name}.cpuprofile`), text);
  rmSync(dir, { recursive: true, force: true });
  const profile = withinWindow(JSON.parse(text) as CpuProfile, window.from, window.to);
  const row = ({ frame, share }: { frame: string; share: number }) => `| ${(share * 100).toFixed(1)} % | \`${frame}\` |`;
  const lines = [`${profile.samples.length} samples during the load.`, '', '| self time | frame |', '|---:|---|', ...topFrames(profile, 15).map(row)];
  lines.push('', '| self time | where |', '|---:|---|', ...selfTimeByPlace(profile).slice(0, 12).map(({ place, share }) => `| ${(share * 100).toFixed(1)} % | ${place} |`));
  // onceql's own frames and the libraries' entry points, with what they call.
  const ours = (frame: string) => / src\//.test(frame) || /^(execute|executeOperation|processGraphQLRequest|parse|validate|getVariableValues|prettyJSONStringify|stringify|sendCommand|parseReply|load|dispatchBatch) /.test(frame);
  lines.push('', '| total time | frame (with its callees) |', '|---:|---|', ...inclusiveFrames(profile, 30, ours).map(row));
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? '8');
  let keys = 0;
  process.stdout.write(await profileOf('transfer', seconds, (data) => () => transferBody(data.from ?? '', data.to ?? '', `profile-${process.pid}-${(keys += 1)}`), true));
  process.stdout.write(await profileOf('query', seconds, (data) => () => accountQueryBody(data.from ?? ''), false));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`profile: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
