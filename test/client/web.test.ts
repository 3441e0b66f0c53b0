import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { checkTrustedDocuments } from '../../src/admit/trusted-documents';
import { buildLedgerSchema } from '../../src/graphql/schema';
import { DEFAULT_QUERY_LIMITS } from '@onceql/ratelimit';
import { ledgerClient } from '../helpers/ledger';
import { startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';
import { startFaultProxy } from './fault-proxy';
import type { FaultProxy } from './fault-proxy';
import { ledgerTruth } from './ledger-truth';

// The web app (examples/web: Vite + React + Apollo Client 4 + the onceql links + codegen types,
// with a publishable key) in Debian's Chromium, driven by playwright-core. The API sits behind a
// loopback proxy that loses the answer to the first transfer after the server ran it. A double
// click on Send makes one transfer, and the page shows the replay.

const CHROMIUM = '/usr/bin/chromium';
const WEB = path.join(__dirname, '../../examples/web');
/** UPDATE_SCREENSHOT=1 writes the README's picture; otherwise it goes to a temporary folder. */
const SCREENSHOT = process.env.UPDATE_SCREENSHOT === '1' ? path.join(WEB, 'screenshot.png') : path.join(mkdtempSync(path.join(os.tmpdir(), 'onceql-web-')), 'screenshot.png');

let outDir: string;
let site: http.Server;
let siteOrigin: string;
let server: TestServer;
let proxy: FaultProxy;
let browser: Browser;

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  // Build the app as a user would (vite build), into a folder of its own.
  outDir = mkdtempSync(path.join(os.tmpdir(), 'onceql-web-dist-'));
  await new Promise<void>((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, '../../node_modules/vite/bin/vite.js'), 'build', WEB, '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], { timeout: 240_000 }, (error, _out, err) =>
      error ? reject(new Error(`vite build failed: ${error.message}\n${err}`)) : resolve(),
    );
  });
  // Serve it from its own origin, so that the browser makes real cross-origin calls (CORS).
  site = http.createServer((req, res) => {
    const file = path.join(outDir, path.normalize(new URL(req.url ?? '/', 'http://x').pathname).replace(/^(\.\.[/\\])+/, ''));
    const target = existsSync(file) && !file.endsWith(path.sep) && path.extname(file) !== '' ? file : path.join(outDir, 'index.html');
    res.setHeader('content-type', TYPES[path.extname(target)] ?? 'application/octet-stream');
    res.end(readFileSync(target));
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteOrigin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  server = await startTestServer({ CORS_ORIGINS: siteOrigin });
  proxy = await startFaultProxy(server.origin);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 300_000);
afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await server?.stop();
  if (site !== undefined) {
    site.closeAllConnections();
    await new Promise((resolve) => site.close(resolve));
  }
});

describe('examples/web in Chromium', () => {
  it('a double click on Send while the first answer is lost makes one transfer, and the page shows the replay', async () => {
    // A tenant with the app's trusted documents, a publishable key, and two accounts.
    const { tenantId, apiKey } = await server.newTenant();
    const manifest = JSON.parse(readFileSync(path.join(WEB, 'src/gql/persisted-documents.json'), 'utf8')) as unknown;
    const checked = checkTrustedDocuments(buildLedgerSchema(), manifest, { ...DEFAULT_QUERY_LIMITS, maxCost: 1000 });
    expect(checked.problems).toEqual([]);
    await server.auth.registerDocuments(tenantId, checked.documents);
    const publishable = (await server.auth.createApiKey(tenantId, { name: 'web', scopes: ['read', 'write'], publishable: true })).secret as string;
    const ledger = ledgerClient(server.url, apiKey);
    const alice = await ledger.account('Alice');
    const bob = await ledger.account('Bob');
    const funding = await ledger.account('Funding', 'EUR', true);
    expect((await ledger.transfer(funding, alice, '10000')).status).toBe(200);

    // Lose the answer to the first transfer, after the server ran it.
    proxy.setDrop((body) => body.includes('"SendMoney"') && proxy.dropped() === 0);
    const page = await browser.newPage({ viewport: { width: 720, height: 640 } });
    // Generous bounds for a loaded CI machine: each wait ends as soon as its condition holds.
    page.setDefaultTimeout(60_000);
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => void pageErrors.push(error.message));
    await page.goto(`${siteOrigin}/?${new URLSearchParams({ api: proxy.url, key: publishable })}`);
    await page.getByTestId('balance-Alice').filter({ hasText: '100.00 EUR' }).waitFor({ timeout: 60_000 });

    await page.getByRole('button', { name: 'Send' }).dblclick();
    await page.getByTestId('answers').getByText('REPLAYED').first().waitFor({ timeout: 60_000 });
    await page.getByText('Sending…').waitFor({ state: 'detached', timeout: 60_000 });
    await page.getByTestId('balance-Bob').filter({ hasText: '2.50 EUR' }).waitFor({ timeout: 60_000 });
    await page.screenshot({ path: SCREENSHOT });

    // One transfer out of Alice, whatever the two clicks and the retry sent.
    expect(proxy.dropped()).toBe(1);
    // Both clicks were sent, and the lost one was retried: three answers to SendMoney, one transfer.
    expect(proxy.answers.filter((answer) => answer.body.includes('createTransfer')).length).toBe(3);
    const truth = await ledgerTruth(server.url, apiKey, alice, [alice, bob], []);
    expect(truth.references).toHaveLength(2); // the funding transfer in, and the one sent
    expect(Object.fromEntries(truth.balances)).toEqual({ [alice]: 9750n, [bob]: 250n });
    expect(await page.getByTestId('balance-Alice').textContent()).toBe('97.50 EUR');
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 300_000);
});
