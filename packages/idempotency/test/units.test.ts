import { GraphQLError } from 'graphql';
import {
  AtomicStatus,
  decidingError,
  decodeResult,
  encodeResult,
  httpStatusOf,
  IDEMPOTENCY_HTTP_STATUS,
  IdempotencyErrorCode,
  idempotencyStatusOf,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  openAtomicReply,
  validateIdempotencyKey,
  withoutIdempotency,
} from '@onceql/idempotency';
import type { AtomicIdempotency, FieldStatus } from '@onceql/idempotency';

describe('result codec', () => {
  const roundTrip = (value: unknown) => decodeResult(encodeResult(value));

  it('keeps bigints, Dates, nesting and unicode', () => {
    const value = {
      id: 't1',
      amount: 9007199254740993n,
      negative: -5n,
      createdAt: new Date(Date.UTC(2026, 10, 29, 12, 0, 0, 123)),
      nested: { list: [1n, { at: new Date(0) }, null, 'x'], deep: { deeper: { n: 0n } } },
      text: 'Zoë 🚀 日本語 "quoted" \\ \n',
      flag: false,
    };
    expect(roundTrip(value)).toEqual(value);
  });

  it('is plain JSON with tags (golden: records hold this text)', () => {
    expect(encodeResult({ a: 1n, d: new Date(0), n: [{ x: -5n }], s: 'é' })).toBe('{"a":{"$bigint":"1"},"d":{"$date":0},"n":[{"x":{"$bigint":"-5"}}],"s":"é"}');
    expect(roundTrip(null)).toBeNull();
    expect(roundTrip([])).toEqual([]);
    expect(roundTrip('text')).toBe('text');
    expect(roundTrip(12n)).toBe(12n);
  });

  it('leaves objects that only look tagged alone when they have other fields', () => {
    expect(roundTrip({ $bigint: '1', other: true })).toEqual({ $bigint: '1', other: true });
  });
});

describe('the atomic envelope', () => {
  function call(): AtomicIdempotency & { statuses: FieldStatus[] } {
    const statuses: FieldStatus[] = [];
    return { recordKey: 'r', legacyRecordKey: 'l', scriptArgs: ['key-1', 'fp', 'm', '1000'], settle: (status) => statuses.push(status), statuses };
  }

  it('has the status codes the Lua shares (golden: scripts in flight during a deploy reply with them)', () => {
    expect(AtomicStatus).toEqual({ IDEM_NONE: 0, IDEM_EXECUTED: 1, IDEM_REPLAYED: 2, IDEM_MISMATCH: 3, IDEM_IN_PROGRESS: 4 });
  });

  it.each([
    [AtomicStatus.IDEM_NONE, []],
    [AtomicStatus.IDEM_EXECUTED, ['EXECUTED']],
    [AtomicStatus.IDEM_REPLAYED, ['REPLAYED']],
  ] as const)('status %d returns the domain reply and the live values, settling %j', (status, settled) => {
    const idempotency = call();
    expect(openAtomicReply('s', [[status, 1, 'id'], ['row']], idempotency)).toEqual({ domain: [1, 'id'], live: [['row']] });
    expect(idempotency.statuses).toEqual(settled);
  });

  it('throws IDEMPOTENCY_KEY_REUSED on a mismatch and IN_PROGRESS (1 s) on a leased claim', () => {
    let reused: unknown;
    try {
      openAtomicReply('s', [[AtomicStatus.IDEM_MISMATCH]], call());
    } catch (error) {
      reused = error;
    }
    expect(reused).toBeInstanceOf(GraphQLError);
    expect((reused as GraphQLError).extensions).toEqual({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(() => openAtomicReply('s', [[AtomicStatus.IDEM_IN_PROGRESS]], call())).toThrow(expect.objectContaining({ extensions: { code: 'IDEMPOTENCY_REQUEST_IN_PROGRESS', retryAfterMs: 1000 } }));
  });

  it('refuses replies it does not know', () => {
    expect(() => openAtomicReply('s', [[9]], call())).toThrow('unknown idempotency status 9');
    expect(() => openAtomicReply('s', [], call())).toThrow('unexpected reply');
    expect(() => openAtomicReply('s', 'OK', call())).toThrow('unexpected reply');
  });

  it('without a key: records nothing, in the namespace slot', () => {
    const none = withoutIdempotency('oq:{t:a}');
    expect(none).toMatchObject({ recordKey: 'oq:{t:a}:i:-', legacyRecordKey: 'oq:{t:a}:idem:-', scriptArgs: ['', '', '', '0'] });
  });
});

describe('error table and status rule', () => {
  it('maps every idempotency code (golden)', () => {
    expect(IDEMPOTENCY_HTTP_STATUS).toEqual({ IDEMPOTENCY_KEY_INVALID: 400, IDEMPOTENCY_KEY_REQUIRED: 400, IDEMPOTENCY_KEY_REUSED: 422, IDEMPOTENCY_REQUEST_IN_PROGRESS: 409 });
    expect(Object.keys(IDEMPOTENCY_HTTP_STATUS).sort()).toEqual(Object.values(IdempotencyErrorCode).sort());
    expect(idempotencyStatusOf('IDEMPOTENCY_KEY_REUSED')).toBe(422);
    expect(idempotencyStatusOf('toString')).toBeUndefined();
    expect(idempotencyStatusOf('BAD_USER_INPUT')).toBeUndefined();
  });

  const err = (code: string, path?: string[]) => ({ message: code, ...(path ? { path } : {}), extensions: { code } });

  it('a committed mutation is never a 4xx: a nested error leaves 200', () => {
    expect(httpStatusOf({ data: { pay: { id: 'p' } }, errors: [err('FORBIDDEN', ['pay', 'card'])] }, () => 403)).toBe(200);
    expect(httpStatusOf({ data: { pay: null }, errors: [err('FORBIDDEN', ['pay', 'card'])] }, () => 403)).toBe(200);
  });

  it('the own error of the only root field, or the first error before execution, decides', () => {
    expect(httpStatusOf({ data: { pay: null }, errors: [err('IDEMPOTENCY_KEY_REUSED', ['pay'])] }, idempotencyStatusOf)).toBe(422);
    expect(httpStatusOf({ errors: [err('IDEMPOTENCY_KEY_INVALID')] }, idempotencyStatusOf)).toBe(400);
    expect(httpStatusOf({ data: { a: null, b: null }, errors: [err('IDEMPOTENCY_KEY_REUSED', ['a'])] }, idempotencyStatusOf)).toBe(200);
    expect(decidingError({ data: { pay: null }, errors: [err('OTHER', ['pay'])] })?.extensions?.code).toBe('OTHER');
    expect(httpStatusOf({ data: { pay: null }, errors: [err('OTHER', ['pay'])] }, idempotencyStatusOf)).toBeUndefined();
  });
});

describe('key validation', () => {
  it.each(['a', 'k-1', '550e8400-e29b-41d4-a716-446655440000', '!~', 'x'.repeat(MAX_IDEMPOTENCY_KEY_LENGTH), '{braces}'])('accepts %j', (key) => {
    expect(validateIdempotencyKey(key)).toBe(key);
  });

  it.each([
    ['', 'it is empty'],
    ['x'.repeat(256), 'longer than 255'],
    ['with space', 'outside visible ASCII'],
    ['tab\t', 'outside visible ASCII'],
    ['é', 'outside visible ASCII'],
    ['\u007f', 'outside visible ASCII'],
  ])('refuses %j (%s)', (key, reason) => {
    expect(() => validateIdempotencyKey(key)).toThrow(reason);
    expect(() => validateIdempotencyKey(key)).toThrow(expect.objectContaining({ extensions: { code: 'IDEMPOTENCY_KEY_INVALID' } }));
  });

  it('refuses what is not a string', () => {
    expect(() => validateIdempotencyKey(12)).toThrow('it must be a string');
    expect(() => validateIdempotencyKey(null)).toThrow('it must be a string');
  });
});
