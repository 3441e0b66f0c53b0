import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap } from '@apollo/server';
import type { ApolloServer, BaseContext, HTTPGraphQLResponse } from '@apollo/server';

/**
 * The few pieces that put Apollo's `executeHTTPGraphQLRequest` on plain `node:http`, shared by
 * onceql's server and the payments example.
 */

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/** Apollo's header map of a Node request (repeated headers joined with ", "). */
export function headerMapOf(req: http.IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

/** The request body as text; rejects with BodyTooLargeError past `maxBytes` and stops reading. */
export function readBody(req: http.IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(new BodyTooLargeError(`The request body exceeds ${maxBytes} bytes.`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Writes Apollo's response: status, headers, and the body whole or in chunks (incremental delivery). */
export async function writeGraphQLResponse(res: http.ServerResponse, response: HTTPGraphQLResponse): Promise<void> {
  for (const [name, value] of response.headers) res.setHeader(name, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

/** Starts Apollo, then listens; port 0 picks a free port. */
export async function startAndListen<TContext extends BaseContext>(apollo: ApolloServer<TContext>, httpServer: http.Server, port: number, host?: string): Promise<AddressInfo> {
  await apollo.start();
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  return httpServer.address() as AddressInfo;
}
