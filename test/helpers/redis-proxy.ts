import net from 'node:net';

/**
 * A TCP proxy in front of the test Redis that can fail the way networks do: cut every connection
 * when a client command matching `dropRequest` is on its way (Redis never sees it), or when a reply
 * follows such a command (Redis ran it, the client never hears back).
 */
export interface RedisProxy {
  readonly url: string;
  /** Cut the next time a client→Redis chunk matches; the chunk is not delivered. */
  cutBeforeCommand(pattern: RegExp): Promise<void>;
  /** Deliver the next matching command, then cut before its reply reaches the client. */
  cutBeforeReply(pattern: RegExp): Promise<void>;
  close(): Promise<void>;
}

export async function startRedisProxy(upstreamSocket: string): Promise<RedisProxy> {
  const sockets = new Set<net.Socket>();
  let rule: { pattern: RegExp; when: 'request' | 'reply'; done: () => void } | undefined;
  const cutAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  const server = net.createServer((client) => {
    const upstream = net.createConnection(upstreamSocket);
    sockets.add(client);
    sockets.add(upstream);
    let replyArmed = false;
    client.on('data', (chunk) => {
      if (rule && rule.pattern.test(chunk.toString('latin1'))) {
        const { when, done } = rule;
        rule = undefined;
        if (when === 'request') {
          cutAll();
          done();
          return;
        }
        replyArmed = true;
        upstream.write(chunk);
        setImmediate(done);
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (replyArmed) {
        cutAll();
        return;
      }
      client.write(chunk);
    });
    for (const socket of [client, upstream]) {
      socket.on('error', () => undefined);
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(socket);
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const arm = (pattern: RegExp, when: 'request' | 'reply') =>
    new Promise<void>((resolve) => {
      rule = { pattern, when, done: resolve };
    });
  return {
    url: `redis://127.0.0.1:${port}`,
    cutBeforeCommand: (pattern) => arm(pattern, 'request'),
    cutBeforeReply: (pattern) => arm(pattern, 'reply'),
    async close() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
