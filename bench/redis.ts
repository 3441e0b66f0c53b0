import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

/** A redis-server of the bench's own, on loopback TCP, without persistence. */
export interface BenchRedis {
  readonly url: string;
  readonly port: number;
  /** A client for the bench's measurements (INFO, MEMORY USAGE), not the server's. */
  readonly probe: Redis;
  stop(): Promise<void>;
}

/** A free TCP port on loopback (the kernel picks it; the socket is closed before use). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startBenchRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onceql-bench-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Refused connections while the server starts are expected; the loop below retries them.
  const quiet = () => undefined;
  probe.on('error', quiet);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await probe.connect();
      break;
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server did not start on port ${port}: ${String(error)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  probe.off('error', quiet);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    probe,
    async stop() {
      probe.disconnect();
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Commands Redis executed, in all: every `calls=` of INFO commandstats, scripts' own commands included. */
export async function commandsExecuted(probe: Redis): Promise<number> {
  const info = await probe.info('commandstats');
  let total = 0;
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') total += Number(match[2]);
  }
  return total;
}

/** Bytes the server holds for data (INFO memory `used_memory`). */
export async function usedMemory(probe: Redis): Promise<number> {
  const info = await probe.info('memory');
  const match = /^used_memory:(\d+)/m.exec(info);
  if (match === null) throw new Error('INFO memory without used_memory');
  return Number(match[1]);
}

/** Average MEMORY USAGE (bytes) of up to `sample` keys matching a pattern; null when none match. */
export async function averageKeyBytes(probe: Redis, pattern: string, sample = 200): Promise<number | null> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await probe.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0' && keys.length < sample);
  const chosen = keys.slice(0, sample);
  if (chosen.length === 0) return null;
  let total = 0;
  for (const key of chosen) total += Number((await probe.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
  return total / chosen.length;
}
