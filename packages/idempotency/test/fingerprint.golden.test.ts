import { canonicalJson, downstreamKey, fingerprint, idempotencyRecordKey, legacyIdempotencyRecordKey } from '@onceql/idempotency';

// GOLDEN VECTORS. These digests were computed by the implementation in use when they were
// committed, and records in Redis hold them: a fingerprint that changes turns every retry in
// flight during a deploy into IDEMPOTENCY_KEY_REUSED, and a record key that changes makes a retry
// run again. Changing any value here needs a new record format version (lua/atomic.lua) that
// still matches records written under the old one, and a migration note in the README.

describe('fingerprint (golden)', () => {
  const vectors: [mutation: string, args: Record<string, unknown>, keyArgument: string | undefined, canonical: string, digest: string][] = [
    [
      'createTransfer',
      { input: { fromAccountId: 'a1', toAccountId: 'a2', amount: 1050n, currency: 'EUR', reference: null }, idempotencyKey: 'k-1' },
      undefined,
      '{"args":{"input":{"amount":"1050","currency":"EUR","fromAccountId":"a1","toAccountId":"a2"}},"mutation":"createTransfer"}',
      '3d8dcededb541bf568b29eecf40a0f9510beb2a32840ba8258c9963eac0d8aeb',
    ],
    // The same request with keys in another order, the null left out and no key argument: same digest.
    [
      'createTransfer',
      { input: { toAccountId: 'a2', amount: 1050n, fromAccountId: 'a1', currency: 'EUR' } },
      undefined,
      '{"args":{"input":{"amount":"1050","currency":"EUR","fromAccountId":"a1","toAccountId":"a2"}},"mutation":"createTransfer"}',
      '3d8dcededb541bf568b29eecf40a0f9510beb2a32840ba8258c9963eac0d8aeb',
    ],
    [
      'createAccount',
      { input: { name: 'Ada', currency: 'EUR', allowNegativeBalance: false } },
      undefined,
      '{"args":{"input":{"allowNegativeBalance":false,"currency":"EUR","name":"Ada"}},"mutation":"createAccount"}',
      '64507e0629f5af2bd3c4ab75f4c109e71081fdeba2528cafef4cd7fd56f16d41',
    ],
    [
      'createAccount',
      { input: { name: 'Zoë 🚀 "quoted"', currency: 'EUR', allowNegativeBalance: true } },
      undefined,
      '{"args":{"input":{"allowNegativeBalance":true,"currency":"EUR","name":"Zoë 🚀 \\"quoted\\""}},"mutation":"createAccount"}',
      'fd2928940deb86e29fbca2561321f8f79e55d47ea0efbae5f2e6193a9a7aae1e',
    ],
    ['revokeApiKey', { id: 'k1' }, undefined, '{"args":{"id":"k1"},"mutation":"revokeApiKey"}', 'fb2fd38f4acfdc5aae79e297eb0137e59268d6332816c4b5ae79697493897130'],
    [
      'createApiKey',
      { input: { name: 'ci', scopes: ['READ', 'WRITE'], ipAllowlist: ['10.0.0.0/8'], rateLimitPerSecond: 5 } },
      undefined,
      '{"args":{"input":{"ipAllowlist":["10.0.0.0/8"],"name":"ci","rateLimitPerSecond":5,"scopes":["READ","WRITE"]}},"mutation":"createApiKey"}',
      'b6a45c3b3cda6246bbe19fddc8d70357b5e07594891b678546b019ea41a9896d',
    ],
    [
      'pay',
      { amount: 1, at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)), nested: [1, 'two', { b: 2, a: [null, true] }] },
      undefined,
      '{"args":{"amount":1,"at":"2026-01-02T03:04:05.006Z","nested":[1,"two",{"a":[null,true],"b":2}]},"mutation":"pay"}',
      'd2fa368c695c2a99efbb2871b1442c04377ba18a3c76cd3b0db6d5b29ed0f25b',
    ],
    ['pay', { requestKey: 'x', amount: 0 }, 'requestKey', '{"args":{"amount":0},"mutation":"pay"}', 'ebf9eaf456a16f2e372225383f3372ffef7e88b0ef802ccadb04819e492d7dfa'],
    ['noArgs', {}, undefined, '{"args":{},"mutation":"noArgs"}', 'f7b7e49de1708a4ac2ba4c070fc7f32a82a0d44e1c33e403317f18b4b4598e9c'],
  ];

  it.each(vectors)('%s #%#', (mutation, args, keyArgument, canonical, digest) => {
    const rest = Object.fromEntries(Object.entries(args).filter(([name]) => name !== (keyArgument ?? 'idempotencyKey')));
    expect(canonicalJson({ mutation, args: rest })).toBe(canonical);
    expect(fingerprint(mutation, args, keyArgument)).toBe(digest);
  });

  it('tells other arguments apart', () => {
    const base = { input: { fromAccountId: 'a1', toAccountId: 'a2', amount: 1050n, currency: 'EUR' } };
    expect(fingerprint('createTransfer', { input: { ...base.input, amount: 1051n } })).not.toBe(fingerprint('createTransfer', base));
    expect(fingerprint('createTransferX', base)).not.toBe(fingerprint('createTransfer', base));
    // A bigint and the digit string it prints as are the same argument (Amount takes either).
    expect(fingerprint('createTransfer', { input: { ...base.input, amount: '1050' } })).toBe(fingerprint('createTransfer', base));
  });
});

describe('record key names (golden)', () => {
  const vectors: [key: string, recordKey: string, legacyRecordKey: string, downstream: string][] = [
    ['k-1', 'oq:{t:abc}:i:fDXFoXhdIHBORNXeS-uBwQ', 'oq:{t:abc}:idem:7c35c5a1785d20704e44d5de4beb81c1fce91b6fe48ed7c3159af6f7f832078b', 'd465c43c3ba7145baac3eaad1e89ddf48f274ee58c3753ad23f88e4f35177dd6'],
    [
      '550e8400-e29b-41d4-a716-446655440000',
      'oq:{t:abc}:i:o6nh7ZcyyrKIaBJ74A8c6Q',
      'oq:{t:abc}:idem:a3a9e1ed9732cab28868127be00f1ce921acaefdd5c3b23a6e9e0072bd9c1a34',
      '41d9ac9c00a29d38567d4d1ccfeaa600d764f4ba544d6ec2674c730b1bd38803',
    ],
    ['{braces}', 'oq:{t:abc}:i:C3EiYdbplO6C9ws9diXBbw', 'oq:{t:abc}:idem:0b712261d6e994ee82f70b3d7625c16f4b186dccdf254b81a3451f0730172630', 'e2e1627f22ede6657475027180160ee6d0c709517fae9c0e10d62267e7c1f2f1'],
  ];

  it.each(vectors)('%s', (key, recordKey, legacyRecordKey, downstream) => {
    expect(idempotencyRecordKey('oq:{t:abc}', key)).toBe(recordKey);
    expect(legacyIdempotencyRecordKey('oq:{t:abc}', key)).toBe(legacyRecordKey);
    expect(downstreamKey('oq:{t:abc}', key)).toBe(downstream);
  });
});
