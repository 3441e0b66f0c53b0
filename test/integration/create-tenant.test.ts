import 'reflect-metadata';
import type { Redis } from 'ioredis';
import { ALL_SCOPES } from '../../src/auth/api-key';
import { AuthStore } from '../../src/auth/store';
import type { RedisClient } from '../../src/redis/client';
import { connectTestRedis } from '../helpers/redis';

// create-tenant writes the tenant and its first key in one script: there is no moment at which a
// crash leaves a tenant that no key reaches.
let redis: RedisClient;
beforeAll(async () => {
  redis = await connectTestRedis();
});
afterAll(() => redis.disconnect());

it('sends one script that writes the tenant, its key and the key index together', async () => {
  const monitor = await (redis as Redis).monitor();
  const commands: string[][] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== 'lua') commands.push(args);
  });
  try {
    const auth = new AuthStore(redis);
    const { tenant, apiKey } = await auth.createTenantWithKey('one script', { name: 'first', scopes: ALL_SCOPES });
    const tag = `{t:${tenant.id}}`;
    // MONITOR reports a command before its reply; a marker read after the call proves all arrived.
    await redis.get(`oq:${tag}:marker`);
    for (let i = 0; i < 100 && !commands.some((args) => args.includes(`oq:${tag}:marker`)); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const writes = commands.filter((args) => args.some((arg) => arg.includes(tag)) && !args.includes(`oq:${tag}:marker`));
    expect(writes).toHaveLength(1);
    expect(String(writes[0]?.[0]).toLowerCase()).toMatch(/^eval(sha)?$/);
    expect(writes[0]).toEqual(expect.arrayContaining([`oq:${tag}:tenant`, `oq:${tag}:apikey:${apiKey?.apiKey.id}`, `oq:${tag}:apikeys`]));

    const principal = await auth.authenticate(apiKey?.secret as string);
    expect(principal).toMatchObject({ tenantId: tenant.id, name: 'first', scopes: ALL_SCOPES });
    expect((await auth.listApiKeys(tenant.id)).map((key) => key.id)).toEqual([apiKey?.apiKey.id]);
  } finally {
    monitor.disconnect();
  }
});

it('creates a tenant alone when no first key is asked for', async () => {
  const auth = new AuthStore(redis);
  const tenant = await auth.createTenant('alone');
  expect(await auth.getTenant(tenant.id)).toMatchObject({ id: tenant.id, name: 'alone' });
  expect(await auth.listApiKeys(tenant.id)).toEqual([]);
});
