import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

/**
 * A local Sentinel deployment on loopback, from Debian's `redis-server`: a primary, a replica and
 * three sentinels (quorum 2). The replica replicates through a {@link ReplicationLink}, a TCP relay
 * that can hold the replication stream and then cut it: the replica falls behind the way it does
 * in a network split, not the way it does on a clean kill on one machine (where the stream is
 * already in the kernel's buffers and arrives anyway).
 */
export interface SentinelGroup {
  /** The two data nodes; which one is primary changes with failovers (see {@link primary}). */
  readonly nodes: readonly RedisNode[];
  readonly sentinels: readonly RedisNode[];
  /** Between the replica and the first primary; unused after a failover. */
  readonly link: ReplicationLink;
  /** The master name the sentinels monitor. */
  readonly name: string;
  /** REDIS_SENTINELS and REDIS_SENTINEL_NAME for an API process. */
  readonly env: Record<string, string>;
  /** The node the sentinels currently name as primary. */
  primary(): Promise<RedisNode>;
  /**
   * Resolves once every sentinel names a primary other than `port`, and it says it is one (bounded
   * by `timeoutMs`): no sentinel has a +switch-master left to announce.
   */
  waitForNewPrimary(port: number, timeoutMs: number): Promise<RedisNode>;
  /** Resolves once the primary reports `count` replicas online and in sync with it. */
  waitForReplicas(count: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** One redis-server (data node or sentinel) that can be killed, paused and restarted on its port. */
export interface RedisNode {
  readonly port: number;
  readonly url: string;
  pid(): number;
  /** Sends a signal (SIGKILL, SIGSTOP, SIGCONT…). */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL, then waits for the process to be gone. */
  kill(): Promise<void>;
  /** Starts the process again with the same port, directory and configuration. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Holds and cuts the replication stream between a replica and its primary. */
export interface ReplicationLink {
  readonly port: number;
  /** Stops relaying primary → replica (the replica falls behind; its acks stay old). */
  hold(): void;
  /** Drops every relayed connection and whatever was held, without delivering it. */
  cut(): void;
  /** Relays again. */
  release(): void;
  close(): Promise<void>;
}

export interface SentinelGroupOptions {
  /** Sentinels' down-after-milliseconds (default 1000). */
  downAfterMs?: number;
  /** `appendfsync` of the data nodes (default everysec). */
  appendfsync?: 'everysec' | 'always' | 'no';
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A redis-server exited at start: most likely its port was taken after freePort() found it free. */
class PortTakenError extends Error {
  constructor(port: number) {
    super(`redis-server on port ${port} exited at start (port taken?)`);
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await check().catch((error: unknown) => {
        if (error instanceof PortTakenError) throw error;
        return false;
      })
    ) {
      return;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One short-lived connection, one command. */
async function ask(port: number, ...args: string[]): Promise<unknown> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(args[0] as string, ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

function startNode(port: number, args: readonly string[]): RedisNode {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const launch = async () => {
    const started = spawn('redis-server', [...args], { stdio: 'ignore' });
    child = started;
    exited = new Promise<void>((resolve) => started.once('exit', () => resolve()));
    // The answer must come from this process: a free port found earlier may have been taken by
    // another program since (then this one exits, and the other would answer PING).
    await until(
      async () => {
        if (started.exitCode !== null || started.signalCode !== null) throw new PortTakenError(port);
        return new RegExp(`process_id:${started.pid}\\b`).test(String(await ask(port, 'INFO', 'server')));
      },
      15_000,
      `redis-server on port ${port}`,
    ).catch((error: unknown) => {
      started.kill('SIGKILL');
      throw started.exitCode !== null ? new PortTakenError(port) : error;
    });
  };
  const node: RedisNode = {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: () => child?.pid ?? -1,
    signal(signal) {
      if (child?.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    async kill() {
      node.signal('SIGCONT');
      node.signal('SIGKILL');
      await exited;
    },
    restart: launch,
    async stop() {
      node.signal('SIGCONT');
      node.signal('SIGKILL');
      await exited;
    },
  };
  return node;
}

/** Starts a node for the first time (restart() on a node that never ran). */
async function launched(node: RedisNode): Promise<RedisNode> {
  await node.restart();
  return node;
}

export async function startReplicationLink(upstreamPort: number): Promise<ReplicationLink> {
  const pairs = new Set<{ replica: net.Socket; primary: net.Socket }>();
  let held = false;
  const server = net.createServer((replica) => {
    const primary = net.createConnection({ host: '127.0.0.1', port: upstreamPort });
    const pair = { replica, primary };
    pairs.add(pair);
    if (held) primary.pause();
    replica.pipe(primary);
    primary.pipe(replica);
    for (const socket of [replica, primary]) {
      // No Nagle delay: replication and its acks pass at once, as on a direct connection.
      socket.setNoDelay(true);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        replica.destroy();
        primary.destroy();
        pairs.delete(pair);
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const link: ReplicationLink = {
    port,
    hold() {
      held = true;
      for (const { primary } of pairs) primary.pause();
    },
    cut() {
      for (const { replica, primary } of pairs) {
        primary.unpipe(replica);
        primary.destroy();
        replica.destroy();
      }
      pairs.clear();
    },
    release() {
      held = false;
      for (const { primary } of pairs) primary.resume();
    },
    async close() {
      link.cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return link;
}

/**
 * Starts the group on fresh ports; a start that fails (a port taken by another program between
 * freePort() and redis-server's bind, on a busy machine) is cleaned up and tried again.
 */
export async function startSentinelGroup(options: SentinelGroupOptions = {}): Promise<SentinelGroup> {
  for (let attempt = 1; ; attempt++) {
    const started: { nodes: RedisNode[]; link?: ReplicationLink; dir?: string } = { nodes: [] };
    try {
      return await startGroupOnce(options, started);
    } catch (error) {
      await Promise.all(started.nodes.map((node) => node.stop()));
      await started.link?.close();
      if (started.dir !== undefined) rmSync(started.dir, { recursive: true, force: true });
      if (attempt === 3) throw error;
    }
  }
}

async function startGroupOnce(options: SentinelGroupOptions, started: { nodes: RedisNode[]; link?: ReplicationLink; dir?: string }): Promise<SentinelGroup> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onceql-sentinel-'));
  started.dir = dir;
  const name = 'mymaster';
  const downAfterMs = options.downAfterMs ?? 1000;
  const [primaryPort, replicaPort, ...sentinelPorts] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  // Each data node runs from a config file, as in production: the sentinels rewrite it (CONFIG
  // REWRITE) when they promote or demote the node, so a restarted node comes back in its new role.
  const dataArgs = (port: number, extra: readonly string[] = []) => {
    const nodeDir = path.join(dir, String(port));
    mkdirSync(nodeDir, { recursive: true });
    const conf = path.join(nodeDir, 'redis.conf');
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${nodeDir}`,
        'appendonly yes',
        `appendfsync ${options.appendfsync ?? 'everysec'}`,
        'save ""',
        'loglevel warning',
        // A full resync starts at once instead of waiting 5 s for more replicas to join it.
        'repl-diskless-sync-delay 0',
        ...extra,
        '',
      ].join('\n'),
    );
    return [conf];
  };
  const track = (node: RedisNode) => (started.nodes.push(node), node);
  const primary = await launched(track(startNode(primaryPort as number, dataArgs(primaryPort as number))));
  const link = await startReplicationLink(primary.port);
  started.link = link;
  const replica = await launched(track(startNode(replicaPort as number, dataArgs(replicaPort as number, [`replicaof 127.0.0.1 ${link.port}`]))));
  const nodes = [primary, replica];

  const sentinels: RedisNode[] = [];
  for (const port of sentinelPorts as number[]) {
    const conf = path.join(dir, `sentinel-${port}.conf`);
    // failover-timeout is long on purpose: a sentinel "fixes" a replica that replicates from an
    // address other than the primary's (here, the link) once that much time has passed.
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
        `sentinel failover-timeout ${name} 600000`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    );
    sentinels.push(await launched(track(startNode(port, [conf, '--sentinel', '--loglevel', 'warning']))));
  }

  const byPort = (port: number): RedisNode => {
    const node = nodes.find((candidate) => candidate.port === port);
    if (node === undefined) throw new Error(`the sentinels name an unknown primary on port ${port}`);
    return node;
  };
  const primaryPortNow = async (): Promise<number> => {
    for (const sentinel of sentinels) {
      try {
        const reply = (await ask(sentinel.port, 'SENTINEL', 'get-master-addr-by-name', name)) as [string, string] | null;
        if (reply !== null) return Number(reply[1]);
      } catch {
        // ask the next one
      }
    }
    throw new Error('no sentinel answered');
  };
  const group: SentinelGroup = {
    nodes,
    sentinels,
    link,
    name,
    env: { REDIS_SENTINELS: sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(','), REDIS_SENTINEL_NAME: name },
    primary: async () => byPort(await primaryPortNow()),
    async waitForNewPrimary(port, timeoutMs) {
      let found = port;
      await until(
        async () => {
          const named = await Promise.all(sentinels.map(async (sentinel) => ((await ask(sentinel.port, 'SENTINEL', 'get-master-addr-by-name', name)) as [string, string])[1]));
          found = Number(named[0]);
          return found !== port && named.every((other) => Number(other) === found) && ((await ask(found, 'ROLE')) as [string])[0] === 'master';
        },
        timeoutMs,
        'every sentinel to name the new primary',
      );
      return byPort(found);
    },
    async waitForReplicas(count, timeoutMs) {
      await until(
        async () => {
          const info = String(await ask(await primaryPortNow(), 'INFO', 'replication'));
          const online = info.split('\n').filter((line) => /^slave\d+:.*state=online/.test(line)).length;
          return info.includes('role:master') && online >= count;
        },
        timeoutMs,
        `${count} replica(s) online`,
      );
    },
    async stop() {
      await Promise.all([...sentinels, ...nodes].map((node) => node.stop()));
      await link.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // The sentinels must have found the replica (through the primary's INFO) and each other before a
  // failover can promote anything.
  await group.waitForReplicas(1, 20_000);
  await until(
    async () => {
      const replicas = (await ask(sentinels[0]?.port as number, 'SENTINEL', 'replicas', name)) as unknown[];
      const peers = (await ask(sentinels[0]?.port as number, 'SENTINEL', 'sentinels', name)) as unknown[];
      return replicas.length >= 1 && peers.length >= 2;
    },
    20_000,
    'the sentinels to discover the replica and each other',
  );
  return group;
}

/** Asks one sentinel to fail over now (SENTINEL FAILOVER); "INPROG" (already failing over) is fine. */
export async function forceFailover(group: SentinelGroup): Promise<void> {
  for (const sentinel of group.sentinels) {
    try {
      await ask(sentinel.port, 'SENTINEL', 'FAILOVER', group.name);
      return;
    } catch (error) {
      if (error instanceof Error && /INPROG/.test(error.message)) return;
    }
  }
}
