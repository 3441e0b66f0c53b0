import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { readIdempotencyRecord } from '@onceql/idempotency';
import type { RedisClient } from '../../src/redis/client';
import type { PaymentNetwork } from '../../examples/payments/network';
import { startPaymentNetwork } from '../../examples/payments/network';
import { connectTestRedis, createPayment, freshMerchant, idempotencyStatuses, namespaceOf, networkKeyOf, newKey, sleep, testRedisUrl } from './payments.helpers';

// The payments example as a real process (dist/, built by the jest global setup), killed with
// SIGKILL between claim and complete: the next process recovers the key after the lease, and the
// network's own idempotency (downstreamKey) keeps the charge single.
const MAIN = path.resolve(__dirname, '../../dist/examples/payments/main.js');
const LEASE_MS = 400;

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<number | null>;
}

function startMain(network: PaymentNetwork): Promise<Started> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    REDIS_URL: testRedisUrl(),
    PAYMENTS_NETWORK_URL: network.url,
    PORT: '0',
    HOST: '127.0.0.1',
    IDEMPOTENCY_LEASE_MS: String(LEASE_MS),
    IDEMPOTENCY_WAIT_MS: '0',
  };
  const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`payments did not start: ${stderr}`));
    }, 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const url = /payments listening on (\S+)/.exec(stdout)?.[1];
      if (url !== undefined) {
        clearTimeout(timer);
        resolve({ child, url, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`payments exited with ${code}: ${stderr}`));
    });
  });
}

let redis: RedisClient;
beforeAll(async () => {
  redis = await connectTestRedis();
});
afterAll(() => redis.disconnect());

describe('payments example as a process (dist/examples/payments/main.js)', () => {
  it('SIGKILL between claim and complete: a new process recovers the key after the lease, the network charged once', async () => {
    const network = await startPaymentNetwork();
    const started: Started[] = [];
    try {
      const merchant = freshMerchant();
      const key = newKey();
      const networkKey = networkKeyOf(merchant, key);

      const first = await startMain(network);
      started.push(first);
      // The network makes the charge, then never answers: the process dies not knowing.
      network.hold(1, 'afterApply');
      const lost = createPayment(first.url, merchant, key).then(
        () => 'answered',
        () => 'connection lost',
      );
      await network.waitForHeld(1);
      expect(network.appliedCount(networkKey)).toBe(1);
      expect((await readIdempotencyRecord(redis, namespaceOf(merchant), key))?.status).toBe('IN_PROGRESS');

      first.child.kill('SIGKILL');
      expect(await first.exited).toBeNull(); // killed by the signal, not exited
      expect(await lost).toBe('connection lost');
      expect((await readIdempotencyRecord(redis, namespaceOf(merchant), key))?.status).toBe('IN_PROGRESS'); // the claim outlived its executor

      const second = await startMain(network);
      started.push(second);
      await sleep(LEASE_MS + 200); // past the dead process's lease
      const retry = await createPayment(second.url, merchant, key);
      expect(retry.status).toBe(200);
      expect(idempotencyStatuses(retry)).toEqual(['RECOVERED']);
      const payment = retry.body.data?.createPayment;
      expect(payment).toMatchObject({ id: network.charges[0]?.id, amount: '1000', currency: 'EUR' });
      expect(network.requestCount(networkKey)).toBe(2); // executed once more...
      expect(network.appliedCount(networkKey)).toBe(1); // ...and the network charged once
      expect(await readIdempotencyRecord(redis, namespaceOf(merchant), key)).toMatchObject({ status: 'COMPLETED', outcome: 'SUCCEEDED', resourceId: payment?.id });

      const replay = await createPayment(second.url, merchant, key);
      expect(idempotencyStatuses(replay)).toEqual(['REPLAYED']);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body.data?.createPayment).toEqual(payment);
      expect(network.requestCount(networkKey)).toBe(2);

      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    } finally {
      for (const { child, exited } of started) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      }
      await network.close();
    }
  });

  it('refuses to start without its settings, naming the variable', async () => {
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH, REDIS_URL: testRedisUrl() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve)); // 'close': stderr is read to the end
    expect(code).toBe(1);
    expect(stderr).toContain('PAYMENTS_NETWORK_URL');
  });
});
