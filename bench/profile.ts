import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { httpSample } from './load';
import { accountQueryBody, transferBody } from './operations';
import { startVariant } from './variants';

/**
 * `node dist/bench/profile.js [seconds]`: onceql under `node --cpu-prof`, once for new transfers
 * and once for the account + 20 transfers query, and the frames with the most self time.
 */
interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly hitCount?: number;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
}

/** Self time per frame (function, file:line), the top `count`, as shares of all samples. */
export function topFrames(profile: CpuProfile, count: number): { frame: string; share: number }[] {
  const total = profile.samples.length;
  const byFrame = new Map<string, number>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url === '' ? '' : ` ${url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/dist\//, '')}:${lineNumber + 1}`;
    const frame = `${functionName === '' ? '(anonymous)' : functionName}${file}`;
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
    const place = packageMatch
      ? (packageMatch[1] ?? url)
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

async function profileOf(name: string, seconds: number, body: (data: Readonly<Record<string, string>>) => () => string, fresh: boolean): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onceql-profile-'));
  const variant = await startVariant(name, 'onceql', '', { cpuProfileDir: dir });
  try {
    const load = { headers: { 'api-key': variant.data.apiKey ?? '' }, body: body(variant.data), fresh, expectStatus: 200 };
    const sample = await httpSample(variant, load, 50, { seconds });
    process.stdout.write(`\n### ${name}: ${sample.requestsPerSecond.toFixed(0)} req/s under the profiler, ${sample.cpuMicrosPerRequest.toFixed(0)} µs CPU per request\n\n`);
  } finally {
    await variant.stop();
  }
  const file = readdirSync(dir).find((entry) => entry.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`${name}: no profile written`);
  const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
  rmSync(dir, { recursive: true, force: true });
  const lines = ['| self time | frame |', '|---:|---|', ...topFrames(profile, 15).map(({ frame, share }) => `| ${(share * 100).toFixed(1)} % | \`${frame}\` |`)];
  lines.push('', '| self time | where |', '|---:|---|', ...selfTimeByPlace(profile).slice(0, 12).map(({ place, share }) => `| ${(share * 100).toFixed(1)} % | ${place} |`));
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
