import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A throwaway redis-server on a unix socket, without persistence, for tests. */
export interface RedisProcess {
  readonly url: string;
  readonly socketPath: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startRedisProcess(socketPath?: string): Promise<RedisProcess> {
  const dir = socketPath === undefined ? mkdtempSync(path.join(os.tmpdir(), 'onceql-test-')) : path.dirname(socketPath);
  const socket = socketPath ?? path.join(dir, 'redis.sock');
  rmSync(socket, { force: true });
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', '0', '--unixsocket', socket, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('redis-server did not start (is it installed? .ci/run installs it)');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return {
    url: `unix://${socket}`,
    socketPath: socket,
    pid: child.pid ?? -1,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      if (socketPath === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
