import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ChildMessage, ChildStats } from './child';
import type { BenchRedis } from './redis';
import { startBenchRedis } from './redis';

/** One server (or limiter) process of the bench, on its own redis-server. */
export interface Variant {
  readonly name: string;
  readonly port: number;
  readonly data: Readonly<Record<string, string>>;
  readonly redis: BenchRedis;
  readonly child: ChildProcess;
  stats(): Promise<ChildStats>;
  stop(): Promise<void>;
}

const STARTUP_MS = 60_000;

/** No usage reporting to Apollo's cloud from a benchmark. */
function withoutApolloKey(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { APOLLO_KEY: _key, APOLLO_GRAPH_REF: _ref, ...rest } = env;
  return rest;
}

function nextMessage<T extends ChildMessage['type']>(child: ChildProcess, type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no ${type} message within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (message: ChildMessage) => {
      if (message.type === type) done(null, message as Extract<ChildMessage, { type: T }>);
    };
    const onExit = (code: number | null) => done(new Error(`the process exited (${code}) before its ${type} message`));
    function done(error: Error | null, message?: Extract<ChildMessage, { type: T }>) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error !== null || message === undefined) reject(error ?? new Error('no message'));
      else resolve(message);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Forks `dist/bench/servers/<script>.js <redis-url> ...args` on a fresh redis-server. */
export async function startProcess(name: string, script: string, args: readonly string[], options: { cpuProfileDir?: string } = {}): Promise<{ redis: BenchRedis; child: ChildProcess }> {
  const redis = await startBenchRedis();
  const execArgv = options.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`, `--cpu-prof-name=${name}.cpuprofile`];
  const child = fork(path.join(__dirname, 'servers', `${script}.js`), [redis.url, ...args], {
    env: { ...withoutApolloKey(process.env), NODE_ENV: 'production', AWS_LAMBDA_FUNCTION_NAME: 'bench' },
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return { redis, child };
}

export async function startVariant(name: string, script: 'onceql' | 'anchor', mode = '', options: { cpuProfileDir?: string } = {}): Promise<Variant> {
  const { redis, child } = await startProcess(name, script, mode === '' ? [] : [mode], options);
  let ready;
  try {
    ready = await nextMessage(child, 'ready', STARTUP_MS);
  } catch (error) {
    child.kill();
    await redis.stop();
    throw new Error(`${name}: ${(error as Error).message}`);
  }
  return {
    name,
    port: ready.port,
    data: ready.data,
    redis,
    child,
    async stats() {
      const answer = nextMessage(child, 'stats', 10_000);
      child.send({ type: 'stats' });
      const { cpuMicros, redisCommands, requests } = await answer;
      return { cpuMicros, redisCommands, requests };
    },
    async stop() {
      const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
      if (child.connected) child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      await redis.stop();
    },
  };
}

/** Runs a limiter process to its end and returns what it measured. */
export async function runLimiter(name: string, mode: 'onceql' | 'onceql-admit' | 'flexible', seconds: number, rate: number, burst: number): Promise<unknown> {
  const { redis, child } = await startProcess(name, 'limiter', [mode, String(seconds), String(rate), String(burst)]);
  try {
    const { result } = await nextMessage(child, 'result', 60_000 + seconds * 3_000);
    return result;
  } finally {
    if (child.connected) child.send({ type: 'stop' });
    await new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
    await redis.stop();
  }
}
