import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { request } from '../security/door.helpers';
import { startTestServer, testRedisUrl } from '../helpers/server';
import type { TestServer } from '../helpers/server';

// Exploration offline: the API serves a GraphiQL bundled from npm at /graphiql/ (Sandbox loads from
// a CDN and stays blank without internet), with the development key in the header pane for a
// browser on this machine only. In Chromium with every non-loopback request blocked, it runs a query.

const CHROMIUM = '/usr/bin/chromium';
let keyServer: TestServer;
let server: TestServer;
let production: TestServer;
let devKey: string;

beforeAll(async () => {
  keyServer = await startTestServer();
  devKey = (await keyServer.newTenant('dev tenant')).apiKey;
  server = await startTestServer({}, testRedisUrl(), devKey);
  production = await startTestServer({ NODE_ENV: 'production' }, testRedisUrl(), devKey);
});
afterAll(async () => {
  await Promise.all([keyServer.stop(), server.stop(), production.stop()]);
});

describe('the offline GraphiQL', () => {
  it('serves the page and every asset it names from this server, nothing from elsewhere', async () => {
    const redirect = await request(server.origin, { path: '/graphiql' });
    expect([redirect.status, redirect.headers.location]).toEqual([308, '/graphiql/']);
    const page = await request(server.origin, { path: '/graphiql/' });
    expect([page.status, page.headers['content-type']]).toEqual([200, 'text/html; charset=utf-8']);
    expect(page.body).not.toMatch(/<(script|link)[^>]+(src|href)="(https?:)?\/\//);
    const assets = [...page.body.matchAll(/(?:src|href)="\.\/(assets\/[^"]+)"/g)].map((match) => match[1] as string);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      const answer = await request(server.origin, { path: `/graphiql/${asset}` });
      expect([asset, answer.status, answer.body.length > 100]).toEqual([asset, 200, true]);
    }
  });

  it('fills in the development key for a loopback browser only, and refuses paths outside the bundle', async () => {
    expect((await request(server.origin, { path: '/graphiql/' })).body).toContain(`"api-key":"${devKey}"`);
    const proxied = await request(server.origin, { path: '/graphiql/', headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect([proxied.status, proxied.body.includes(devKey), proxied.body.includes('window.__ONCEQL_GRAPHIQL__ = {"headers":{}}')]).toEqual([200, false, true]);
    for (const path of ['/graphiql/assets/..%2F..%2Fpackage.json', '/graphiql/assets/.hidden', '/graphiql/../package.json', '/graphiql/assets/', '/graphiql/index.html']) {
      const answer = await request(server.origin, { path });
      expect([path, answer.status, answer.body.includes('"name"')]).toEqual([path, 404, false]);
    }
    expect((await request(server.origin, { path: '/graphiql/', method: 'POST', body: '{}' })).status).toBe(405);
  });

  it('is off in production unless GRAPHIQL=true', async () => {
    const off = await request(production.origin, { path: '/graphiql/' });
    expect(off.status).toBe(404);
    const enabled = await startTestServer({ NODE_ENV: 'production', GRAPHIQL: 'true' }, testRedisUrl(), devKey);
    try {
      const on = await request(enabled.origin, { path: '/graphiql/' });
      // Served, but never with a key in production.
      expect([on.status, on.body.includes(devKey)]).toEqual([200, false]);
    } finally {
      await enabled.stop();
    }
  });

  it('runs a query in Chromium with the network beyond loopback cut off', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
      page.setDefaultTimeout(60_000);
      const blocked: string[] = [];
      await page.route('**/*', (route) => {
        const url = new URL(route.request().url());
        if (url.protocol === 'data:' || url.protocol === 'blob:' || url.hostname === '127.0.0.1') return route.continue();
        blocked.push(url.origin);
        return route.abort();
      });
      await page.goto(`${server.origin}/graphiql/`);
      // A click before GraphiQL has finished setting up its editors runs nothing; on a loaded
      // machine that takes seconds. Click again (bounded) until the answer shows, as a person would.
      const answer = page.getByText('dev tenant').first();
      for (let attempt = 1; ; attempt++) {
        await page.getByRole('button', { name: /execute/i }).first().click();
        const shown = await answer.waitFor({ timeout: 10_000 }).then(() => true, () => false);
        if (shown) break;
        if (attempt === 6) throw new Error('GraphiQL showed no answer after 6 clicks on Execute');
      }
      expect(blocked).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
