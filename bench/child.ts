import type http from 'node:http';
import type { Cluster, Redis } from 'ioredis';
import type { LedgerStore } from '../src/ledger/store';

/**
 * The bench's side of a server process: the parent starts it with `fork`, it answers on IPC.
 *   → {type: 'ready', port, data}        once listening (data: ids and keys the scenarios need)
 *   ← {type: 'stats'} → {type: 'stats', cpuMicros, redisCommands, requests}
 *   ← {type: 'stop'}  → exits
 * `redisCommands` counts the commands this process wrote to Redis: its round trips (a script
 * is one, whatever it runs inside Redis). `requests` counts the requests it received: the
 * load generator's last ones, cut off when it stops, did their work (CPU, commands) too.
 */
export interface ChildStats {
  readonly cpuMicros: number;
  readonly redisCommands: number;
  readonly requests: number;
}

export type ChildMessage =
  | { readonly type: 'ready'; readonly port: number; readonly data: Record<string, string> }
  | ({ readonly type: 'stats' } & ChildStats)
  | { readonly type: 'result'; readonly result: unknown };

let redisCommands = 0;
let requests = 0;

/** Counts the HTTP requests a server receives. */
export function countRequests(server: http.Server): void {
  server.on('request', () => (requests += 1));
}

/** Counts every command a client sends (ioredis routes all of them through `sendCommand`). */
export function countCommands<T extends Redis | Cluster>(client: T): T {
  const send = client.sendCommand.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { sendCommand: (...args: unknown[]) => unknown }).sendCommand = (...args: unknown[]) => {
    redisCommands += 1;

    return send(...args);
  };
  return client;
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

/** Starts answering the parent; `stop` runs before the process exits. */
export function serveParent(stop: () => Promise<void>): void {
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'stats') {
      const cpu = process.cpuUsage();
      send({ type: 'stats', cpuMicros: cpu.user + cpu.system, redisCommands, requests });
    } else if (message.type === 'stop') {
      void stop().finally(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
}

export function ready(port: number, data: Record<string, string>): void {
  send({ type: 'ready', port, data });
}

export function result(value: unknown): void {
  send({ type: 'result', result: value });
}

/** The Redis URL the parent gave this child (argv[2]). */
export function redisUrlArgument(): string {
  const url = process.argv[2];
  if (url === undefined) throw new Error('usage: node <server>.js <redis-url> [mode]');
  return url;
}

/** How many accounts the storage measurement spreads its transfers over. */
export const POOL_SIZE = 100;

/** {@link POOL_SIZE} EUR accounts that may go negative, for transfers between random pairs. */
export async function accountPool(ledger: LedgerStore): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < POOL_SIZE; i++) ids.push((await ledger.createAccount({ name: `Pool ${i}`, currency: 'EUR', allowNegativeBalance: true })).id);
  return ids;
}
