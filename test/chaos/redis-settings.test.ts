import { ConfigError, loadConfig } from '../../src/config';

// The Sentinel, WAIT and appendfsync settings: defaults, parsing, and bad values that stop the
// start with a message naming the variable.
describe('Redis durability settings', () => {
  it('defaults: no sentinels, no WAIT, appendfsync everysec', () => {
    expect(loadConfig({})).toMatchObject({ redisSentinels: [], redisSentinelName: 'mymaster', redisWaitReplicas: 0, redisWaitTimeoutMs: 500, redisAppendfsync: 'everysec' });
  });

  it('reads sentinels (IPv6 in brackets), the master name, WAIT and appendfsync', () => {
    const config = loadConfig({
      REDIS_SENTINELS: '10.0.0.1:26379, sentinel-b:26380,[::1]:26381',
      REDIS_SENTINEL_NAME: 'ledger',
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: '250',
      REDIS_APPENDFSYNC: 'always',
    });
    expect(config.redisSentinels).toEqual([
      { host: '10.0.0.1', port: 26379 },
      { host: 'sentinel-b', port: 26380 },
      { host: '::1', port: 26381 },
    ]);
    expect(config).toMatchObject({ redisSentinelName: 'ledger', redisWaitReplicas: 1, redisWaitTimeoutMs: 250, redisAppendfsync: 'always' });
  });

  it.each([
    [{ REDIS_SENTINELS: '10.0.0.1' }, 'REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: '10.0.0.1:0' }, 'REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: '10.0.0.1:26379,' }, 'REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: '10.0.0.1:26379', REDIS_URL: 'redis://10.0.0.2:6379' }, 'REDIS_SENTINELS'],
    [{ REDIS_SENTINEL_NAME: 'my master' }, 'REDIS_SENTINEL_NAME'],
    [{ REDIS_WAIT_REPLICAS: '-1' }, 'REDIS_WAIT_REPLICAS'],
    [{ REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '2000' }, 'REDIS_WAIT_TIMEOUT_MS'],
    [{ REDIS_APPENDFSYNC: 'sometimes' }, 'REDIS_APPENDFSYNC'],
  ])('refuses %j naming %s', (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });
});
