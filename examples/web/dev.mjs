// One command runs the web example beside the API: `node examples/web/dev.mjs`.
//
// 1. builds onceql and starts it in development (embedded Redis under .data/web-example, port 4000,
//    loopback origins allowed by CORS);
// 2. with the admin CLI, creates a tenant, registers the app's trusted documents
//    (src/gql/persisted-documents.json) and creates a publishable key;
// 3. opens three accounts (Alice with 100.00 EUR, Bob, Funding) with the tenant's secret key;
// 4. starts Vite's dev server on http://127.0.0.1:5173 with the API's URL and the publishable key.
// Ctrl-C stops both.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const root = path.join(import.meta.dirname, '../..');
const port = process.env.PORT ?? '4000';
const api = `http://127.0.0.1:${port}/graphql`;
const env = { ...process.env, NODE_ENV: 'development', PORT: port, HOST: '127.0.0.1', DATA_DIR: process.env.DATA_DIR ?? path.join(root, '.data/web-example') };
const children = [];

function admin(...args) {
  return JSON.parse(execFileSync(process.execPath, [path.join(root, 'dist/src/admin.js'), ...args], { cwd: root, env, encoding: 'utf8' }));
}

async function graphql(apiKey, query, variables) {
  const response = await globalThis.fetch(api, { method: 'POST', headers: { 'content-type': 'application/json', 'api-key': apiKey, 'idempotency-key': randomUUID() }, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (body.errors) throw new Error(`${query.slice(0, 40)}…: ${JSON.stringify(body.errors)}`);
  return body.data;
}

function stop() {
  for (const child of children) child.kill('SIGTERM');
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
const server = spawn(process.execPath, [path.join(root, 'dist/src/main.js')], { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
children.push(server);
for (let i = 0; ; i++) {
  if (i === 100) throw new Error(`onceql did not become ready on ${api}`);
  if (await globalThis.fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)) break;
  await sleep(200);
}

const { tenantId, apiKey: secret } = admin('create-tenant', '--name', 'web example');
admin('register-documents', '--tenant', tenantId, '--file', path.join(import.meta.dirname, 'src/gql/persisted-documents.json'));
const { secret: publishable } = admin('create-key', '--tenant', tenantId, '--name', 'web example (browser)', '--scopes', 'read,write', '--publishable');
const open = (name, allowNegativeBalance = false) =>
  graphql(secret, 'mutation($input: CreateAccountInput!) { createAccount(input: $input) { id } }', { input: { name, currency: 'EUR', allowNegativeBalance } }).then((data) => data.createAccount.id);
const alice = await open('Alice');
await open('Bob');
const funding = await open('Funding', true);
await graphql(secret, 'mutation($input: CreateTransferInput!) { createTransfer(input: $input) { id } }', { input: { fromAccountId: funding, toAccountId: alice, amount: '10000', currency: 'EUR' } });

const vite = spawn(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), import.meta.dirname], {
  cwd: root,
  env: { ...process.env, VITE_ONCEQL_URL: api, VITE_ONCEQL_KEY: publishable },
  stdio: 'inherit',
});
children.push(vite);
process.stdout.write(`\nweb example: http://127.0.0.1:5173 (tenant ${tenantId}, publishable key in the page; the API on ${api})\n\n`);
vite.on('exit', stop);
server.on('exit', stop);
