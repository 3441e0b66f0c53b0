import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { GraphQLError } from 'graphql';
import type { LeasedExecution } from '@onceql/idempotency';
import { decodeResult, downstreamKey, fingerprint, idempotencyRecordKey, LeasedIdempotency } from '@onceql/idempotency';
import type { RedisClient } from '../../src/redis/client';
import { connectTestRedis, sleep } from './payments.helpers';

// LeasedIdempotency.execute (the leased path) against the real Redis, under random interleavings
// of duplicates, executions paused past their lease, unexpected failures (which release) and
// business errors (which complete). The effect goes to a sink that deduplicates by downstreamKey,
// like the payment network; the value each execution returns names its own fencing token, so a
// caller answered with anything but the one stored outcome would show.

let redis: RedisClient;
beforeAll(async () => {
  redis = await connectTestRedis();
});
afterAll(() => redis.disconnect());

type Pause = 'none' | 'beforeApply' | 'afterApply';
type Failure = 'none' | 'unexpectedBeforeApply' | 'unexpectedAfterApply' | 'business';

interface CallSpec {
  readonly key: number;
  readonly startDelayMs: number;
  readonly pause: Pause;
  /** Multiple of the lease the paused run sleeps: always longer than the lease. */
  readonly pauseLeases: number;
  readonly failure: Failure;
}

const callSpec: fc.Arbitrary<CallSpec> = fc.record({
  key: fc.nat({ max: 1 }),
  startDelayMs: fc.integer({ min: 0, max: 120 }),
  pause: fc.constantFrom<Pause>('none', 'none', 'beforeApply', 'afterApply'),
  pauseLeases: fc.constantFrom(1.3, 1.8, 2.5),
  failure: fc.constantFrom<Failure>('none', 'none', 'none', 'unexpectedBeforeApply', 'unexpectedAfterApply', 'business'),
});

const scenario = fc.record({
  leaseMs: fc.integer({ min: 50, max: 120 }),
  waitMs: fc.constantFrom(0, 60, 400),
  calls: fc.array(callSpec, { minLength: 1, maxLength: 6 }),
});

interface Value {
  readonly chargeId: string;
  /** The fencing token of the execution that produced this value. */
  readonly token: number;
}

type Answer =
  | { readonly kind: 'success'; readonly status: string; readonly value: Value }
  | { readonly kind: 'business'; readonly status: string; readonly code: unknown }
  | { readonly kind: 'inProgress' }
  | { readonly kind: 'unexpected'; readonly message: string };

/** A downstream system with its own idempotency: one charge per downstreamKey, however often it is asked. */
class DedupSink {
  readonly charges = new Map<string, string>();
  readonly requests = new Map<string, number>();
  apply(key: string): string {
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let charge = this.charges.get(key);
    if (charge === undefined) {
      charge = `ch_${this.charges.size + 1}`;
      this.charges.set(key, charge);
    }
    return charge;
  }
}

async function runScenario({ leaseMs, waitMs, calls }: { leaseMs: number; waitMs: number; calls: CallSpec[] }): Promise<void> {
  const namespace = `lp:{p:${randomBytes(6).toString('hex')}}`;
  const keys = ['key-a', 'key-b'];
  const leased = new LeasedIdempotency({ redis, leaseMs, waitMs, ttlSeconds: 60 });
  const sink = new DedupSink();
  const executions = keys.map(() => [] as LeasedExecution[]);
  /** Raw counters: executions whose success / business error was stored (not a replay). */
  const storedSuccesses = keys.map(() => 0);
  const storedFailures = keys.map(() => 0);

  const callFor = (keyIndex: number) => {
    const key = keys[keyIndex] as string;
    return { namespace, key, fingerprint: fingerprint('pay', { key }), mutation: 'pay' };
  };

  async function attempt(spec: CallSpec): Promise<Answer> {
    let runs = 0;
    try {
      const outcome = await leased.execute<Value>(callFor(spec.key), async (execution) => {
        runs += 1;
        executions[spec.key]?.push(execution);
        // Only the first run of a call misbehaves; one that is fenced and claims again runs plainly.
        const pause = runs === 1 ? spec.pause : 'none';
        const failure = runs === 1 ? spec.failure : 'none';
        if (failure === 'unexpectedBeforeApply') throw new Error('unexpected before the effect');
        if (pause === 'beforeApply') await sleep(leaseMs * spec.pauseLeases);
        const chargeId = sink.apply(execution.downstreamKey);
        if (pause === 'afterApply') await sleep(leaseMs * spec.pauseLeases);
        if (failure === 'unexpectedAfterApply') throw new Error('unexpected after the effect');
        if (failure === 'business') throw new GraphQLError('declined', { extensions: { code: 'DECLINED', chargeId } });
        return { chargeId, token: execution.token };
      });
      if ('value' in outcome) {
        if (outcome.status !== 'REPLAYED') storedSuccesses[spec.key] = (storedSuccesses[spec.key] ?? 0) + 1;
        return { kind: 'success', status: outcome.status, value: outcome.value };
      }
      if (outcome.status !== 'REPLAYED') storedFailures[spec.key] = (storedFailures[spec.key] ?? 0) + 1;
      return { kind: 'business', status: outcome.status, code: outcome.error.extensions.code };
    } catch (error) {
      if (error instanceof GraphQLError && error.extensions.code === 'IDEMPOTENCY_REQUEST_IN_PROGRESS') return { kind: 'inProgress' };
      if (error instanceof GraphQLError) throw error; // nothing else may surface as a GraphQL error here
      return { kind: 'unexpected', message: (error as Error).message };
    }
  }

  try {
    const answers = await Promise.all(
      calls.map(async (spec) => {
        await sleep(spec.startDelayMs);
        return { spec, answer: await attempt(spec) };
      }),
    );

    for (const [keyIndex, key] of keys.entries()) {
      const mine = answers.filter(({ spec }) => spec.key === keyIndex).map(({ answer }) => answer);
      const successes = mine.flatMap((answer) => (answer.kind === 'success' ? [answer.value] : []));
      const failures = mine.flatMap((answer) => (answer.kind === 'business' ? [answer.code] : []));

      // Never two stored completions for one key; every caller gets the one stored outcome.
      expect(storedSuccesses[keyIndex]).toBeLessThanOrEqual(1);
      expect((storedSuccesses[keyIndex] ?? 0) + (storedFailures[keyIndex] ?? 0)).toBeLessThanOrEqual(1);
      for (const value of successes) expect(value).toEqual(successes[0]);
      expect(successes.length === 0 || failures.length === 0).toBe(true);

      // The effect: every execution of a key used the same downstreamKey, and the sink charged once.
      const expectedDownstreamKey = downstreamKey(namespace, key);
      for (const execution of executions[keyIndex] ?? []) expect(execution.downstreamKey).toBe(expectedDownstreamKey);
      const tokens = (executions[keyIndex] ?? []).map((execution) => execution.token);
      expect(new Set(tokens).size).toBe(tokens.length); // every claim and take-over has its own token
      expect([...sink.charges.keys()].filter((charged) => charged === expectedDownstreamKey).length).toBeLessThanOrEqual(1);
      if (successes[0] !== undefined) expect(successes[0].chargeId).toBe(sink.charges.get(expectedDownstreamKey));

      // What Redis holds agrees with what the callers were told; nothing is left IN_PROGRESS.
      const record = await redis.hgetall(idempotencyRecordKey(namespace, key));
      if (successes.length + failures.length === 0) {
        expect(record).toEqual({});
      } else {
        expect(record.status).toBe('COMPLETED');
        if (successes[0] !== undefined) {
          expect(record.outcome).toBe('SUCCEEDED');
          expect(decodeResult(record.result ?? '')).toEqual(successes[0]);
        } else {
          expect(record.outcome).toBe('FAILED');
          expect(record.errorCode).toBe('DECLINED');
        }
      }

      // A retry afterwards replays that outcome, or (nothing stored) executes.
      const retry = await attempt({ key: keyIndex, startDelayMs: 0, pause: 'none', pauseLeases: 1, failure: 'none' });
      if (successes[0] !== undefined) expect(retry).toEqual({ kind: 'success', status: 'REPLAYED', value: successes[0] });
      else if (failures.length > 0) expect(retry).toMatchObject({ kind: 'business', status: 'REPLAYED', code: 'DECLINED' });
      else expect(retry).toMatchObject({ kind: 'success', status: 'EXECUTED' });
      expect([...sink.charges.keys()].filter((charged) => charged === expectedDownstreamKey).length).toBeLessThanOrEqual(1);
    }
  } finally {
    await leased.close();
  }
}

describe('leased path under random interleavings (property)', () => {
  it('one stored outcome per key, the same answer for every caller, the effect applied once', async () => {
    // Bounded: 40 scenarios take a few seconds; a failure's shrinking stops after 20 s and reports
    // the smallest counterexample found by then.
    await fc.assert(fc.asyncProperty(scenario, runScenario), { numRuns: 40, interruptAfterTimeLimit: 20_000 });
  }, 60_000);
});
