import type { LeasedExecution } from '@onceql/idempotency';
import { readIdempotencyRecord } from '@onceql/idempotency';
import type { RedisClient } from '../../src/redis/client';
import type { PaymentRecord } from '../../examples/payments/payment.type';
import {
  codes,
  connectTestRedis,
  gql,
  createPayment,
  EUR_10,
  freshMerchant,
  idempotencyStatuses,
  namespaceOf,
  networkKeyOf,
  newKey,
  sleep,
  startPayments,
  visible,
  waitChannelOf,
  waitForWaiters,
} from './payments.helpers';

// The payments example (examples/payments) over real HTTP, against the test Redis, with a fake
// payment network that deduplicates by Idempotency-Key and can hold requests mid-flight.

let redis: RedisClient;
beforeAll(async () => {
  redis = await connectTestRedis();
});
afterAll(() => redis.disconnect());

/** A beforeComplete hook that pauses the first execution (after the network answered) until released. */
function pauseFirstExecution() {
  const executions: LeasedExecution[] = [];
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (release = resolve));
  let reach: (paused: { payment: PaymentRecord; execution: LeasedExecution }) => void = () => undefined;
  const reached = new Promise<{ payment: PaymentRecord; execution: LeasedExecution }>((resolve) => (reach = resolve));
  return {
    executions,
    reached,
    release: () => release(),
    hook: async (payment: PaymentRecord, execution: LeasedExecution) => {
      executions.push(execution);
      if (executions.length === 1) {
        reach({ payment, execution });
        await released;
      }
    },
  };
}

describe('payments example: take-over of an execution paused past its lease', () => {
  it.each(['beforeApply', 'afterApply'] as const)(
    'network holds the first call (%s): a retry after the lease recovers, the paused one is fenced and answers with the stored result; one charge',
    async (phase) => {
      const payments = await startPayments(redis, { leaseMs: 300, waitMs: 100 });
      try {
        const merchant = freshMerchant();
        const key = newKey();
        const networkKey = networkKeyOf(merchant, key);
        payments.network.hold(1, phase);
        const first = createPayment(payments.url, merchant, key);
        await payments.network.waitForHeld(1);
        expect((await readIdempotencyRecord(redis, namespaceOf(merchant), key))?.status).toBe('IN_PROGRESS');
        await sleep(450); // past the 300 ms lease

        const takeOver = await createPayment(payments.url, merchant, key);
        expect(takeOver.status).toBe(200);
        expect(idempotencyStatuses(takeOver)).toEqual(['RECOVERED']);
        expect(takeOver.headers.get('idempotent-replayed')).toBeNull();
        const payment = takeOver.body.data?.createPayment;
        expect(payment).toMatchObject({ amount: '1000', currency: 'EUR', destination: 'acct_shop' });
        const [firstRequest, takeOverRequest] = payments.network.requests;
        expect(payments.network.requests).toHaveLength(2);
        expect(payment?.networkRequestId).toBe(takeOverRequest?.requestId);
        expect(await readIdempotencyRecord(redis, namespaceOf(merchant), key)).toMatchObject({ status: 'COMPLETED', outcome: 'SUCCEEDED', resourceId: payment?.id });

        payments.network.releaseHeld();
        const late = await first;
        // Its complete was refused (the record holds the take-over's token): it answers with the
        // take-over's stored result, not with the answer of its own network request.
        expect(late.status).toBe(200);
        expect(late.body.data?.createPayment).toEqual(payment);
        expect(late.body.data?.createPayment?.networkRequestId).not.toBe(firstRequest?.requestId);
        expect(idempotencyStatuses(late)).toEqual(['REPLAYED']);
        expect(late.headers.get('idempotent-replayed')).toBe('true');

        expect(payments.network.requestCount(networkKey)).toBe(2);
        expect(payments.network.appliedCount(networkKey)).toBe(1);
        expect(payments.network.charges.map((charge) => charge.id)).toEqual([payment?.id]);

        const again = await createPayment(payments.url, merchant, key);
        expect(again.headers.get('idempotent-replayed')).toBe('true');
        expect(idempotencyStatuses(again)).toEqual(['REPLAYED']);
        expect(again.body.data?.createPayment).toEqual(payment);
        expect(payments.network.requestCount(networkKey)).toBe(2); // a replay does not call the network
      } finally {
        await payments.stop();
      }
    },
  );

  it('paused before complete: the take-over has a larger fencing token and the same downstreamKey; the paused result is never stored', async () => {
    const pause = pauseFirstExecution();
    const payments = await startPayments(redis, { leaseMs: 300, waitMs: 100, beforeComplete: pause.hook });
    try {
      const merchant = freshMerchant();
      const key = newKey();
      const first = createPayment(payments.url, merchant, key);
      const paused = await pause.reached;
      await sleep(450);

      const takeOver = await createPayment(payments.url, merchant, key);
      expect(idempotencyStatuses(takeOver)).toEqual(['RECOVERED']);
      const [stale, fresh] = pause.executions;
      expect(fresh?.token).toBeGreaterThan(stale?.token ?? Infinity);
      expect(fresh?.downstreamKey).toBe(stale?.downstreamKey);
      expect(fresh?.downstreamKey).toBe(networkKeyOf(merchant, key));
      expect(fresh?.recovered).toBe(true);
      expect(stale?.recovered).toBe(false);

      pause.release();
      const late = await first;
      expect(late.body.data?.createPayment).toEqual(takeOver.body.data?.createPayment);
      expect(late.body.data?.createPayment?.networkRequestId).not.toBe(paused.payment.networkRequestId);
      expect(idempotencyStatuses(late)).toEqual(['REPLAYED']);
      expect(payments.network.appliedCount()).toBe(1);
    } finally {
      pause.release();
      await payments.stop();
    }
  });

  it('fenced while the take-over still runs: the paused one waits for it like a duplicate and replays its result', async () => {
    // The first run lasts longer than waitMs (and the lease); once fenced it still gets its own wait.
    const pause = pauseFirstExecution();
    const payments = await startPayments(redis, { leaseMs: 1_000, waitMs: 900, beforeComplete: pause.hook });
    try {
      const merchant = freshMerchant();
      const key = newKey();
      const first = createPayment(payments.url, merchant, key);
      await pause.reached;
      await sleep(1_150);

      payments.network.hold(1, 'beforeApply');
      const takeOver = createPayment(payments.url, merchant, key);
      await payments.network.waitForHeld(1); // the take-over holds a live lease and is at the network
      pause.release();
      // The fenced first now waits (it must not answer before the take-over is let go).
      const answeredEarly = first.then((response) => Promise.reject(new Error(`the fenced first answered while the take-over ran: ${JSON.stringify(response.body)}`)));
      await Promise.race([waitForWaiters(redis, waitChannelOf(merchant, key)), answeredEarly]);
      payments.network.releaseHeld();

      const [late, recovered] = await Promise.all([first, takeOver]);
      answeredEarly.catch(() => undefined);
      expect(idempotencyStatuses(recovered)).toEqual(['RECOVERED']);
      expect(late.status).toBe(200);
      expect(idempotencyStatuses(late)).toEqual(['REPLAYED']);
      expect(late.body.data?.createPayment).toEqual(recovered.body.data?.createPayment);
      expect(payments.network.appliedCount(networkKeyOf(merchant, key))).toBe(1);
    } finally {
      pause.release();
      await payments.stop();
    }
  });

  it('fenced after the take-over failed and released: the paused one claims again and stores its own charge, once', async () => {
    const pause = pauseFirstExecution();
    const payments = await startPayments(redis, { leaseMs: 300, waitMs: 100, beforeComplete: pause.hook });
    try {
      const merchant = freshMerchant();
      const key = newKey();
      const networkKey = networkKeyOf(merchant, key);
      const first = createPayment(payments.url, merchant, key);
      const paused = await pause.reached;
      await sleep(450);

      payments.network.failNext(1);
      const takeOver = await createPayment(payments.url, merchant, key);
      expect(codes(takeOver)).toEqual(['INTERNAL_SERVER_ERROR']);
      expect(await readIdempotencyRecord(redis, namespaceOf(merchant), key)).toBeNull(); // released

      pause.release();
      const late = await first;
      expect(payments.loggedErrors).toEqual([expect.objectContaining({ status: 500 })]); // only the take-over's network 500
      expect(late.status).toBe(200);
      expect(late.body.errors).toBeUndefined();
      expect(late.body.data?.createPayment).toMatchObject({ id: paused.payment.id, networkRequestId: paused.payment.networkRequestId });
      expect(idempotencyStatuses(late)).toEqual(['EXECUTED']);

      const again = await createPayment(payments.url, merchant, key);
      expect(idempotencyStatuses(again)).toEqual(['REPLAYED']);
      expect(again.body.data?.createPayment).toEqual(late.body.data?.createPayment);
      expect(payments.network.requestCount(networkKey)).toBe(2);
      expect(payments.network.appliedCount(networkKey)).toBe(1);
    } finally {
      pause.release();
      await payments.stop();
    }
  });
});

describe('payments example: duplicates while the first runs', () => {
  it('a duplicate waits (no error) and replays the result once the first completes', async () => {
    const payments = await startPayments(redis, { leaseMs: 10_000, waitMs: 10_000 });
    try {
      const merchant = freshMerchant();
      const key = newKey();
      payments.network.hold(1, 'afterApply');
      const first = createPayment(payments.url, merchant, key);
      await payments.network.waitForHeld(1);
      const duplicate = createPayment(payments.url, merchant, key);
      await waitForWaiters(redis, waitChannelOf(merchant, key));
      payments.network.releaseHeld();

      const [original, replay] = await Promise.all([first, duplicate]);
      expect(idempotencyStatuses(original)).toEqual(['EXECUTED']);
      expect(original.headers.get('idempotent-replayed')).toBeNull();
      expect(replay.status).toBe(200);
      expect(replay.body.errors).toBeUndefined();
      expect(idempotencyStatuses(replay)).toEqual(['REPLAYED']);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body.data).toEqual(original.body.data);
      expect(payments.network.requestCount()).toBe(1); // the duplicate never reached the network
    } finally {
      await payments.stop();
    }
  });

  it('with a short IDEMPOTENCY_WAIT_MS and a long first run, the duplicate gets 409 with Retry-After, and a later retry replays', async () => {
    const payments = await startPayments(redis, { leaseMs: 10_000, waitMs: 150 });
    try {
      const merchant = freshMerchant();
      const key = newKey();
      payments.network.hold(1, 'afterApply');
      const first = createPayment(payments.url, merchant, key);
      await payments.network.waitForHeld(1);

      const duplicate = await createPayment(payments.url, merchant, key);
      expect(duplicate.status).toBe(409);
      expect(codes(duplicate)).toEqual(['IDEMPOTENCY_REQUEST_IN_PROGRESS']);
      expect(duplicate.body.data?.createPayment ?? null).toBeNull();
      expect(Number(duplicate.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(duplicate.body.errors?.[0]?.extensions?.retryAfterMs).toEqual(expect.any(Number));

      payments.network.releaseHeld();
      const original = await first;
      expect(idempotencyStatuses(original)).toEqual(['EXECUTED']);
      const retry = await createPayment(payments.url, merchant, key);
      expect(idempotencyStatuses(retry)).toEqual(['REPLAYED']);
      expect(retry.body.data).toEqual(original.body.data);
      expect(payments.network.appliedCount()).toBe(1);
      expect(payments.network.requestCount()).toBe(1);
    } finally {
      await payments.stop();
    }
  });
});

describe('payments example: outcomes', () => {
  let payments: Awaited<ReturnType<typeof startPayments>>;
  beforeAll(async () => {
    payments = await startPayments(redis);
  });
  afterAll(() => payments.stop());

  it('the same key with other arguments is 422 IDEMPOTENCY_KEY_REUSED and does not execute', async () => {
    const merchant = freshMerchant();
    const key = newKey();
    const first = await createPayment(payments.url, merchant, key);
    expect(idempotencyStatuses(first)).toEqual(['EXECUTED']);
    const requestsBefore = payments.network.requests.length;

    const reused = await createPayment(payments.url, merchant, key, { ...EUR_10, amount: '1001' });
    expect(reused.status).toBe(422);
    expect(codes(reused)).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    expect(payments.network.requests.length).toBe(requestsBefore);
    // The record is untouched: the original arguments still replay.
    expect(idempotencyStatuses(await createPayment(payments.url, merchant, key))).toEqual(['REPLAYED']);
  });

  it('keys are scoped to the merchant: two merchants using one key make two charges', async () => {
    const key = newKey();
    const [a, b] = await Promise.all([createPayment(payments.url, freshMerchant(), key), createPayment(payments.url, freshMerchant(), key)]);
    expect(idempotencyStatuses(a)).toEqual(['EXECUTED']);
    expect(idempotencyStatuses(b)).toEqual(['EXECUTED']);
    expect(a.body.data?.createPayment?.id).not.toBe(b.body.data?.createPayment?.id);
  });

  it('a decline by the network is recorded and replayed identically, without calling the network again', async () => {
    const merchant = freshMerchant();
    const key = newKey();
    const input = { ...EUR_10, destination: 'declined' };
    const declined = await createPayment(payments.url, merchant, key, input);
    expect(codes(declined)).toEqual(['PAYMENT_DECLINED']);
    expect(declined.body.errors?.[0]?.extensions).toEqual({ code: 'PAYMENT_DECLINED', declineCode: 'card_declined' });
    expect(declined.body.data).toEqual({ createPayment: null });
    expect(idempotencyStatuses(declined)).toEqual(['EXECUTED']);
    const networkKey = networkKeyOf(merchant, key);
    expect(payments.network.requestCount(networkKey)).toBe(1);

    const replay = await createPayment(payments.url, merchant, key, input);
    expect(visible(replay)).toEqual(visible(declined));
    expect(idempotencyStatuses(replay)).toEqual(['REPLAYED']);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(payments.network.requestCount(networkKey)).toBe(1);
    expect(await readIdempotencyRecord(redis, namespaceOf(merchant), key)).toMatchObject({ status: 'COMPLETED', outcome: 'FAILED', errorCode: 'PAYMENT_DECLINED' });
  });

  it('an unexpected failure (network 500) is masked, releases the claim, and a retry executes', async () => {
    const merchant = freshMerchant();
    const key = newKey();
    const networkKey = networkKeyOf(merchant, key);
    payments.network.failNext(1);
    const failed = await createPayment(payments.url, merchant, key);
    expect(codes(failed)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(failed.body.errors?.[0]?.message).toBe('Internal server error');
    expect(failed.body.extensions?.idempotency).toBeUndefined();
    expect(payments.loggedErrors.map(String)).toContainEqual(expect.stringContaining('the payment network answered 500'));
    expect(await readIdempotencyRecord(redis, namespaceOf(merchant), key)).toBeNull();

    const retry = await createPayment(payments.url, merchant, key);
    expect(retry.status).toBe(200);
    expect(idempotencyStatuses(retry)).toEqual(['EXECUTED']);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(payments.network.requestCount(networkKey)).toBe(2);
    expect(payments.network.appliedCount(networkKey)).toBe(1);
  });

  it('refuses before execution, storing nothing: no key, a bad amount, no merchant', async () => {
    const merchant = freshMerchant();
    const requestsBefore = payments.network.requests.length;

    const noKey = await createPayment(payments.url, merchant, null);
    expect(noKey.status).toBe(400);
    expect(codes(noKey)).toEqual(['IDEMPOTENCY_KEY_REQUIRED']);

    const key = newKey();
    const badAmount = await createPayment(payments.url, merchant, key, { ...EUR_10, amount: '-5' });
    expect(badAmount.status).toBe(400);
    expect(codes(badAmount)).toEqual(['BAD_USER_INPUT']);
    expect(await readIdempotencyRecord(redis, namespaceOf(merchant), key)).toBeNull();

    const anonymous = await gql(payments.url, '{ health }');
    expect(anonymous.status).toBe(401);
    expect(codes(anonymous)).toEqual(['UNAUTHENTICATED']);
    const badMerchant = await gql(payments.url, '{ health }', {}, { 'x-merchant': 'Not/Valid' });
    expect(badMerchant.status).toBe(401);
    expect(payments.network.requests.length).toBe(requestsBefore);

    expect((await gql(payments.url, '{ health }', {}, { 'x-merchant': merchant })).body.data).toEqual({ health: 'ok' });
    // A key is judged afresh after a refusal: it still executes.
    expect(idempotencyStatuses(await createPayment(payments.url, merchant, key))).toEqual(['EXECUTED']);
  });
});
