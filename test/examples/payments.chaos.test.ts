import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/sentinel';
import { CREATE_PAYMENT, freshMerchant, networkKeyOf, testRedisUrl } from './payments.helpers';

// The leased path under fire: the payments example (a real process) charges a payment network
// (a real process too, keeping its own idempotency in a journal). The executor is SIGKILLed while
// its call to the network is in flight (the charge is made, the answer not yet sent), and so is
// the network. Clients retry each payment with its key until they get it. Each payment must reach
// the network's ledger once: 0 double charges, 0 lost, every answer naming the one charge.
const PAYMENTS = path.resolve(__dirname, '../../dist/examples/payments/main.js');
const NETWORK = path.resolve(__dirname, '../../dist/examples/payments/network-main.js');
const PAYMENT_COUNT = 40;
const LEASE_MS = 500;

interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  readonly lines: string[];
  kill(): Promise<void>;
}

function start(script: string, env: Record<string, string>, listening: RegExp): Promise<Running> {
  const child = spawn(process.execPath, [script], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines: string[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`${script} did not start: ${stderr}`)), 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        child.emit('line', line);
        const url = listening.exec(line)?.[1];
        if (url !== undefined) {
          clearTimeout(timer);
          resolve({
            child,
            url,
            lines,
            async kill() {
              if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
              await exited;
            },
          });
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}: ${stderr}`));
    });
  });
}

it('SIGKILLs of the executor mid-call and of the network: every payment charged exactly once', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onceql-payments-chaos-'));
  const journal = path.join(dir, 'network.jsonl');
  const networkEnv = { PORT: String(await freePort()), NETWORK_JOURNAL: journal, NETWORK_ANSWER_DELAY_MS: '150' };
  let network = await start(NETWORK, networkEnv, /network listening on (\S+)/);
  const paymentsEnv = { REDIS_URL: testRedisUrl(), PAYMENTS_NETWORK_URL: network.url, PORT: '0', HOST: '127.0.0.1', IDEMPOTENCY_LEASE_MS: String(LEASE_MS), IDEMPOTENCY_WAIT_MS: '0' };
  let payments = await start(PAYMENTS, paymentsEnv, /payments listening on (\S+)/);
  const merchant = freshMerchant();
  const statuses: Record<string, number> = {};
  const idempotencyStatuses = new Set<string>();
  const answers = new Map<string, string>();
  const kills = { executorMidCall: 0, network: 0 };

  try {
    // Kill on the network's own report that it made a charge and has not answered yet (it waits
    // 150 ms): the executor dies inside its downstream call; the network dies with the charge
    // journaled and the answer unsent.
    const plan: ('executor' | 'network')[] = ['executor', 'network', 'executor', 'network', 'executor'];
    let applied = 0;
    let killing = Promise.resolve();
    const watch = (running: Running) =>
      running.child.on('line', (line: string) => {
        if (!line.startsWith('applied ')) return;
        applied += 1;
        if (applied % 6 !== 0 || plan.length === 0) return;
        const target = plan.shift();
        killing = killing.then(async () => {
          if (target === 'executor') {
            await payments.kill();
            kills.executorMidCall += 1;
            payments = await start(PAYMENTS, paymentsEnv, /payments listening on (\S+)/);
          } else {
            await network.kill();
            kills.network += 1;
            network = await start(NETWORK, networkEnv, /network listening on (\S+)/);
            watch(network);
          }
        });
      });
    watch(network);

    const pay = async (i: number) => {
      const key = `pay-${i}`;
      const body = JSON.stringify({ query: CREATE_PAYMENT, variables: { input: { amount: String(100 + i), currency: 'EUR', destination: `acct_${i % 5}` }, key } });
      for (let attempt = 0; attempt < 400; attempt++) {
        try {
          const response = await fetch(payments.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-merchant': merchant }, body, signal: AbortSignal.timeout(5_000) });
          statuses[response.status] = (statuses[response.status] ?? 0) + 1;
          const json = (await response.json()) as { data?: { createPayment?: { id: string } | null }; extensions?: { idempotency?: { status: string }[] } };
          for (const entry of json.extensions?.idempotency ?? []) idempotencyStatuses.add(entry.status);
          const id = json.data?.createPayment?.id;
          if (response.status === 200 && id !== undefined) return answers.set(key, id);
        } catch {
          statuses.lost = (statuses.lost ?? 0) + 1; // killed, or not yet restarted: send it again
        }
        await new Promise((resolve) => setTimeout(resolve, 50 + (attempt % 5) * 20));
      }
      throw new Error(`${key} never got an answer`);
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (next < PAYMENT_COUNT) await pay(next++);
      }),
    );
    await killing;

    expect(kills).toEqual({ executorMidCall: 3, network: 2 });
    // Every payment answered, and with the charge the network made for its key: one per payment.
    const journaled = readFileSync(journal, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { key: string; answer: { status: number; body: { id: string } } });
    const charges = journaled.filter((entry) => entry.answer.status === 201);
    expect(answers.size).toBe(PAYMENT_COUNT);
    expect(charges).toHaveLength(PAYMENT_COUNT);
    expect(new Set(charges.map((entry) => entry.key)).size).toBe(PAYMENT_COUNT);
    for (const [key, id] of answers) {
      expect(charges.filter((entry) => entry.key === networkKeyOf(merchant, key)).map((entry) => entry.answer.body.id)).toEqual([id]);
    }
    process.stdout.write(
      `payments chaos: ${PAYMENT_COUNT} payments, ${kills.executorMidCall} executor kills mid-call, ${kills.network} network kills, ` +
        `${charges.length - new Set(charges.map((entry) => entry.key)).size} double charges, ${PAYMENT_COUNT - answers.size} lost, answers ${JSON.stringify(statuses)}\n`,
    );
    // Kills inside the call left claims that retries took over once their lease ran out.
    expect(idempotencyStatuses.has('RECOVERED')).toBe(true);
  } finally {
    await payments.kill();
    await network.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
