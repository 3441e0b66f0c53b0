import { randomBytes, randomUUID } from 'node:crypto';
import { downstreamKey, idempotencyRecordKey } from '@onceql/idempotency';
import type { RedisClient } from '../../src/redis/client';
import type { PaymentNetwork } from '../../examples/payments/network';
import { startPaymentNetwork } from '../../examples/payments/network';
import type { PaymentsServerOptions } from '../../examples/payments/server';
import { createPaymentsServer } from '../../examples/payments/server';

// The shared helpers come from ../helpers/redis and ../helpers/http, not ../helpers/server: that
// module loads onceql's resolvers, and type-graphql keeps decorator metadata per process, so the
// payments schema must be built where they were never loaded.
import { gql } from '../helpers/http';
import type { GraphQLResponse } from '../helpers/http';

export { connectTestRedis, testRedisUrl } from '../helpers/redis';
export { codes, gql } from '../helpers/http';
export type { GraphQLResponse } from '../helpers/http';

export const CREATE_PAYMENT = `
  mutation CreatePayment($input: CreatePaymentInput!, $key: String) {
    createPayment(input: $input, idempotencyKey: $key) { id amount currency destination networkRequestId }
  }
`;

export interface PaymentInput {
  amount: string;
  currency: string;
  destination: string;
}

export interface PaymentData {
  createPayment: { id: string; amount: string; currency: string; destination: string; networkRequestId: string } | null;
}

export const EUR_10: PaymentInput = { amount: '1000', currency: 'EUR', destination: 'acct_shop' };

/** A merchant no other test uses: its idempotency records are its own. */
export function freshMerchant(): string {
  return `m${randomBytes(8).toString('hex')}`;
}

export function namespaceOf(merchant: string): string {
  return `pay:{m:${merchant}}`;
}

/** The Idempotency-Key the payments server sends the network for (merchant, key). */
export function networkKeyOf(merchant: string, key: string): string {
  return downstreamKey(namespaceOf(merchant), key);
}

/** The pub/sub channel on which duplicates of (merchant, key) wait. */
export function waitChannelOf(merchant: string, key: string): string {
  return `${idempotencyRecordKey(namespaceOf(merchant), key)}:done`;
}

export function createPayment(url: string, merchant: string, key: string | null, input: PaymentInput = EUR_10): Promise<GraphQLResponse<PaymentData>> {
  return gql<PaymentData>(url, CREATE_PAYMENT, { input, key }, { 'x-merchant': merchant });
}

/** What a client sees of a response, for comparing an original with its replay. */
export function visible(response: GraphQLResponse<PaymentData>) {
  return { status: response.status, data: response.body.data, errors: response.body.errors };
}

export function idempotencyStatuses(response: GraphQLResponse<unknown>): unknown[] {
  const entries = (response.body.extensions?.idempotency ?? []) as { status: string }[];
  return entries.map((entry) => entry.status);
}

/**
 * Resolves once `count` clients wait on a key's completion channel (they got IN_PROGRESS and
 * listen); rejects if that does not happen within `timeoutMs`.
 */
export async function waitForWaiters(redis: RedisClient, channel: string, count = 1, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reply = (await redis.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
    if (Number(reply[1]) >= count) return;
    if (Date.now() > deadline) throw new Error(`no ${count} waiter(s) on ${channel} within ${timeoutMs} ms`);
    await sleep(10);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function newKey(): string {
  return randomUUID();
}

export interface StartedPayments {
  readonly url: string;
  readonly network: PaymentNetwork;
  readonly loggedErrors: unknown[];
  stop(): Promise<void>;
}

/** The payments example in this process, on port 0, with its own fake network. */
export async function startPayments(redis: RedisClient, options: Partial<Omit<PaymentsServerOptions, 'redis' | 'networkUrl'>> = {}): Promise<StartedPayments> {
  const network = await startPaymentNetwork();
  const loggedErrors: unknown[] = [];
  const server = createPaymentsServer({
    redis,
    networkUrl: network.url,
    ttlSeconds: 3600,
    leaseMs: 10_000,
    waitMs: 5_000,
    logError: (error) => loggedErrors.push(error),
    ...options,
  });
  try {
    const address = await server.listen(0, '127.0.0.1');
    return {
      url: `http://127.0.0.1:${address.port}/graphql`,
      network,
      loggedErrors,
      async stop() {
        network.releaseHeld();
        await server.stop();
        await network.close();
      },
    };
  } catch (error) {
    await network.close();
    throw error;
  }
}
