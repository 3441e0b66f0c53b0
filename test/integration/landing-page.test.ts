import { startTestServer } from '../helpers/server';

const INTROSPECTION = '{ __schema { queryType { name } } }';

describe('Apollo Sandbox and introspection', () => {
  it('serves Sandbox in development with the api-key header filled in, and allows introspection', async () => {
    const server = await startTestServer({ NODE_ENV: 'development' }, undefined, 'oq_devkey_for_sandbox');
    try {
      const page = await fetch(server.url, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('EmbeddedSandbox');
      expect(html).toContain('sharedHeaders');
      expect(html).toContain('oq_devkey_for_sandbox');

      const { apiKey } = await server.newTenant();
      const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', 'api-key': apiKey }, body: JSON.stringify({ query: INTROSPECTION }) });
      expect(((await response.json()) as { data: unknown }).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    } finally {
      await server.stop();
    }
  });

  it('turns introspection off with INTROSPECTION=false and shows no dev key in production', async () => {
    const server = await startTestServer({ NODE_ENV: 'production', INTROSPECTION: 'false' });
    try {
      const page = await fetch(server.url, { headers: { accept: 'text/html' } });
      expect(await page.text()).not.toContain('sharedHeaders');
      const { apiKey } = await server.newTenant();
      const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', 'api-key': apiKey }, body: JSON.stringify({ query: INTROSPECTION }) });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
      expect(body.errors[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    } finally {
      await server.stop();
    }
  });
});
