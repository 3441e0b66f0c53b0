import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { createRedisClient, isOutcomeUnknown, isRedisUnavailable } from '../../src/redis/client';
import { createTenantScript } from '../../src/auth/scripts';
import { freePort } from '../helpers/sentinel';

// With WAIT on, a write while Redis is not connected is refused at once, unsent: 503
// SERVICE_UNAVAILABLE, not OUTCOME_UNKNOWN, and never a wait (a cluster pipeline would otherwise
// wait without bound for a client that never connected).
it.each([
  ['a single Redis', () => ({ url: `unix://${path.join(os.tmpdir(), `onceql-nowhere-${randomUUID()}.sock`)}` })],
  ['a cluster', async () => ({ url: `redis://127.0.0.1:${await freePort()}`, cluster: true })],
])('%s that is down: refused unsent', async (_what, target) => {
  const client = createRedisClient({ ...(await target()), waitReplicas: 1, waitTimeoutMs: 100 });
  try {
    const noKey = { keyId: '', keyName: '', prefix: '', hash: '', scopes: '', ipAllowlist: '', ipRanges: '', rateLimitPerSecond: '' };
    const error = await createTenantScript.run(client, { tenant: 'oq:{t:x}:tenant', apiKey: 'oq:{t:x}:apikey:y', apiKeys: 'oq:{t:x}:apikeys' }, { tenantId: 'x', name: 'name', ...noKey }).then(
      () => null,
      (failure: unknown) => failure,
    );
    expect(isRedisUnavailable(error)).toBe(true);
    expect(isOutcomeUnknown(error)).toBe(false);
  } finally {
    client.disconnect();
  }
});
