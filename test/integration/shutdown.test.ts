import http from 'node:http';
import { startTestServer } from '../helpers/server';

describe('graceful shutdown', () => {
  it('lets a request that is in flight finish, then stops', async () => {
    const server = await startTestServer();
    const { apiKey } = await server.newTenant();
    const body = JSON.stringify({ query: '{ viewer { tenant { name } } }' });

    // Send the headers and half of the body: the request is in flight while stop() begins.
    let stopped = false;
    const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(server.url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'api-key': apiKey } }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        expect(stopped).toBe(false);
        req.end(body.slice(10));
      }, 300);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopping = server.stop().then(() => (stopped = true));

    const { status, text } = await response;
    expect(status).toBe(200);
    expect((JSON.parse(text) as { data: unknown }).data).toEqual({ viewer: { tenant: { name: 'test' } } });
    await stopping;
    await expect(fetch(`${server.origin}/healthz`)).rejects.toThrow();
  });
});
