import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../observability/logger';

/**
 * The embedded default: a private `redis-server` (from PATH) on a unix socket under the data
 * directory, with append-only persistence, started with the API and stopped with it.
 */
export interface ManagedRedis {
  /** unix:// URL of the socket */
  readonly url: string;
  readonly socketPath: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export class RedisServerMissingError extends Error {
  override readonly name = 'RedisServerMissingError';
}

/** Unix socket paths are limited to ~107 bytes (sun_path); leave room for the NUL byte. */
const MAX_SOCKET_PATH = 100;

export function socketPathFor(dataDir: string): string {
  const inside = path.join(dataDir, 'redis.sock');
  if (Buffer.byteLength(inside) <= MAX_SOCKET_PATH) return inside;
  const digest = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), `onceql-${digest}.sock`);
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Makes sure `redis-server` is on PATH: installs Debian's package when running as root with
 * apt-get, otherwise throws with one line saying how to get it.
 */
export function ensureRedisServerInstalled(logger: Logger): void {
  if (onPath('redis-server')) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && onPath('apt-get')) {
    logger.info('redis-server not found; installing Debian package redis-server with apt-get');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () => spawnSync('apt-get', ['install', '-y', '-qq', 'redis-server'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    let result = install();
    if (result.status !== 0) {
      spawnSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
      result = install();
    }
    if (result.status === 0 && onPath('redis-server')) return;
  }
  throw new RedisServerMissingError(
    'redis-server is not installed: install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) or set REDIS_URL to an external Redis.',
  );
}

/** True while a process with this pid exists (signal 0 checks without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return check();
}

function readPid(file: string): number | null {
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** When the embedded redis-server fsyncs its append-only file (REDIS_APPENDFSYNC). */
export type AppendFsync = 'everysec' | 'always' | 'no';

export interface StartManagedRedisOptions {
  /**
   * When the append-only file is fsynced (default `everysec`): `everysec` can lose the last second
   * of acknowledged writes in an OS crash or power loss (a process crash loses nothing: each write
   * reaches the kernel before the reply); `always` fsyncs before every reply (nothing lost, slower
   * writes); `no` leaves it to the kernel (up to ~30 s).
   */
  appendfsync?: AppendFsync;
  /**
   * When another live process already runs the embedded Redis of this data directory (a running
   * `npm start`), use it instead of failing; `stop()` then leaves it running. For the admin CLI.
   */
  reuseRunning?: boolean;
}

export async function startManagedRedis(dataDir: string, logger: Logger, options: StartManagedRedisOptions = {}): Promise<ManagedRedis> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const socketPath = socketPathFor(dataDir);
  const pidFile = path.join(dataDir, 'redis.pid');
  const ownerFile = path.join(dataDir, 'owner.pid');

  const runningPid = readPid(pidFile);
  if (runningPid !== null && processAlive(runningPid)) {
    const owner = readPid(ownerFile);
    if (owner !== null && owner !== process.pid && processAlive(owner)) {
      if (options.reuseRunning === true) {
        return { url: `unix://${socketPath}`, socketPath, pid: runningPid, stop: async () => undefined };
      }
      throw new Error(`another onceql (pid ${owner}) is running on DATA_DIR ${dataDir}; stop it or use another DATA_DIR`);
    }
    // Left behind by a run that was killed (SIGKILL gives no chance to stop it): stop it first.
    logger.warn('stopping a redis-server left by an earlier run', { redisPid: runningPid });
    process.kill(runningPid, 'SIGTERM');
    if (!(await waitFor(() => !processAlive(runningPid), 10_000))) process.kill(runningPid, 'SIGKILL');
  }
  rmSync(pidFile, { force: true });
  rmSync(socketPath, { force: true });
  ensureRedisServerInstalled(logger);
  writeFileSync(ownerFile, `${process.pid}\n`);

  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port', '0',
      '--unixsocket', socketPath,
      '--unixsocketperm', '700',
      '--dir', dataDir,
      '--pidfile', pidFile,
      '--appendonly', 'yes',
      '--appendfsync', options.appendfsync ?? 'everysec',
      '--save', '',
      '--daemonize', 'no',
      '--loglevel', 'warning',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));

  const up = await waitFor(() => exited || existsSync(socketPath), 15_000);
  if (!up || exited) {
    child.kill('SIGKILL');
    throw new Error(`redis-server did not start in ${dataDir}: ${output.trim().split('\n').slice(-3).join(' | ')}`);
  }
  logger.info('embedded redis-server started', { redisPid: child.pid, socket: socketPath, dataDir });

  return {
    url: `unix://${socketPath}`,
    socketPath,
    pid: child.pid ?? -1,
    async stop() {
      if (exited) return;
      // SIGTERM makes redis-server flush the append-only file and exit.
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([exit.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 10_000)))]);
      clearTimeout(timer);
      if (!stopped) {
        child.kill('SIGKILL');
        await exit;
      }
      rmSync(ownerFile, { force: true });
    },
  };
}
