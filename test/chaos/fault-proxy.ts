import net from 'node:net';
import type { Random } from './random';

/**
 * A loopback TCP proxy in front of one API process that fails the way networks do. Each client
 * connection (the chaos client opens one per request) draws its fate:
 * - reset: the connection is reset as soon as the request arrives; the API never sees it;
 * - drop: the request reaches the API and is executed, then the connection is reset when the
 *   first byte of the answer comes back, so the client never hears it;
 * - pass: relayed both ways.
 * The upstream can be moved (an API process restarted on a new port).
 */
export interface FaultProxy {
  readonly url: string;
  setUpstream(port: number): void;
  readonly counts: { connections: number; dropped: number; reset: number };
  close(): Promise<void>;
}

export interface FaultRates {
  /** Share of connections whose answer is dropped after the API answered. */
  dropRate: number;
  /** Share of connections reset before the request reaches the API. */
  resetRate: number;
}

export async function startFaultProxy(upstreamPort: number, random: Random, rates: FaultRates): Promise<FaultProxy> {
  let upstream = upstreamPort;
  const counts = { connections: 0, dropped: 0, reset: 0 };
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    counts.connections += 1;
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => undefined);
    const draw = random();
    if (draw < rates.resetRate) {
      client.once('data', () => {
        counts.reset += 1;
        client.resetAndDestroy();
      });
      return;
    }
    const drop = draw < rates.resetRate + rates.dropRate;
    const api = net.createConnection({ host: '127.0.0.1', port: upstream });
    open.add(api);
    api.on('close', () => {
      open.delete(api);
      client.destroy();
    });
    api.on('error', () => undefined);
    client.on('close', () => api.destroy());
    client.on('data', (chunk) => api.write(chunk));
    api.on('data', (chunk) => {
      if (drop) {
        counts.dropped += 1;
        client.resetAndDestroy();
        api.destroy();
        return;
      }
      client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    setUpstream: (next) => void (upstream = next),
    counts,
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
