import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A throwaway Redis Cluster for tests: masters only, on loopback, without persistence, each node
 * with its cluster config file in a fresh directory. Every step is bounded in time, and whatever
 * was started is stopped when a step fails (and, as a last resort, when the process exits).
 */
export interface RedisCluster {
  /** The seed list as onceql takes it in REDIS_URL: `redis://127.0.0.1:<port>,...`. */
  readonly url: string;
  readonly ports: readonly number[];
  /** Stops every node and removes the directories; safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartRedisClusterOptions {
  readonly masters?: number;
  /** Bound on the whole start: nodes up, cluster created, cluster_state:ok everywhere. */
  readonly timeoutMs?: number;
}

const HOST = '127.0.0.1';
/** Redis listens on the port and, for the cluster bus, on port + 10000. */
const BUS_OFFSET = 10_000;
const PORT_MIN = 20_000;
const PORT_MAX = 29_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function runRedisCli(args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', [...args], { timeout: Math.max(100, timeoutMs), killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`redis-cli ${args.join(' ')} failed: ${error.message}${stderr ? `\n${stderr}` : ''}${stdout ? `\n${stdout}` : ''}`));
      else resolve(stdout);
    });
  });
}

/** True when nothing listens on 127.0.0.1:port (checked by binding it). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: HOST, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** `count` distinct random ports in 20000-29000 whose port and port + 10000 are both free. */
async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count; attempt++) {
    if (attempt >= 500) throw new Error(`found only ${ports.length} of ${count} free port pairs in ${PORT_MIN}-${PORT_MAX}`);
    const port = PORT_MIN + Math.floor(Math.random() * (PORT_MAX - PORT_MIN + 1));
    if (ports.includes(port)) continue;
    if ((await portFree(port)) && (await portFree(port + BUS_OFFSET))) ports.push(port);
  }
  return ports;
}

interface Node {
  readonly port: number;
  readonly dir: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

function logTail(node: Node): string {
  try {
    return readFileSync(path.join(node.dir, 'redis.log'), 'utf8').split('\n').slice(-10).join('\n');
  } catch {
    return '(no log)';
  }
}

function startNode(root: string, port: number): Node {
  const dir = path.join(root, String(port));
  mkdirSync(dir);
  const child = spawn(
    'redis-server',
    [
      '--bind', HOST,
      '--port', String(port),
      '--cluster-enabled', 'yes',
      '--cluster-config-file', path.join(dir, 'nodes.conf'),
      '--cluster-node-timeout', '5000',
      '--dir', dir,
      '--save', '',
      '--appendonly', 'no',
      '--logfile', path.join(dir, 'redis.log'),
      '--loglevel', 'notice',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  return { port, dir, child, exited };
}

async function waitForPong(node: Node, deadline: number): Promise<void> {
  for (;;) {
    if (node.child.exitCode !== null || node.child.signalCode !== null) {
      throw new Error(`redis-server on port ${node.port} exited (is redis-server installed? is the port taken?):\n${logTail(node)}`);
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`redis-server on port ${node.port} did not answer PING in time:\n${logTail(node)}`);
    try {
      if ((await runRedisCli(['-h', HOST, '-p', String(node.port), 'ping'], Math.min(1_000, left))).trim() === 'PONG') return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
}

async function waitForClusterOk(nodes: readonly Node[], deadline: number): Promise<void> {
  let last = '';
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`the cluster did not reach cluster_state:ok in time; last CLUSTER INFO:\n${last}`);
    let ok = true;
    for (const node of nodes) {
      try {
        last = await runRedisCli(['-h', HOST, '-p', String(node.port), 'cluster', 'info'], Math.min(1_000, left));
      } catch (error) {
        last = String(error);
      }
      // every node, not only the first: the client may ask any of them for the slot map
      if (!/^cluster_state:ok\r?$/m.test(last) || !new RegExp(`^cluster_known_nodes:${nodes.length}\\r?$`, 'm').test(last)) {
        ok = false;
        break;
      }
    }
    if (ok) return;
    await sleep(100);
  }
}

/** True when `promise` settles within `ms`; the timer is cleared either way (no stray handle). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function stopNode(node: Node): Promise<void> {
  const alive = () => node.child.exitCode === null && node.child.signalCode === null;
  if (!alive()) return;
  node.child.kill('SIGTERM');
  if (!(await settlesWithin(node.exited, 5_000)) && alive()) {
    node.child.kill('SIGKILL');
    await settlesWithin(node.exited, 2_000);
  }
}

/**
 * Starts `masters` redis-server processes with cluster mode on, joins them with
 * `redis-cli --cluster create` (no replicas) and waits for cluster_state:ok on every node.
 */
export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  const root = mkdtempSync(path.join(os.tmpdir(), 'onceql-cluster-'));
  const nodes: Node[] = [];
  // A last resort when the process ends without stop() (a crashed or interrupted run).
  const killOnExit = () => {
    for (const node of nodes) if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(nodes.map(stopNode));
      process.off('exit', killOnExit);
      rmSync(root, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    const ports = await freePorts(masters);
    for (const port of ports) nodes.push(startNode(root, port));
    for (const node of nodes) await waitForPong(node, deadline);
    await runRedisCli(['--cluster', 'create', ...ports.map((port) => `${HOST}:${port}`), '--cluster-replicas', '0', '--cluster-yes'], deadline - Date.now());
    await waitForClusterOk(nodes, deadline);
    return {
      url: ports.map((port) => `redis://${HOST}:${port}`).join(','),
      ports,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
