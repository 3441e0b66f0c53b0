import { ConfigError, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('has working defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 4000, redisUrl: undefined, introspection: true, production: false, corsOrigins: [] });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['INTROSPECTION', 'maybe'],
    ['LOG_LEVEL', 'loud'],
    ['REDIS_URL', 'http://example.com'],
    ['REDIS_URL', 'not a url'],
    ['CORS_ORIGINS', 'https://app.example.com/path'],
  ])('refuses %s=%s with a message naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it('needs REDIS_URL for a cluster and reads its seed list', () => {
    expect(() => loadConfig({ REDIS_CLUSTER: 'true' })).toThrow(/REDIS_URL/);
    const config = loadConfig({ REDIS_CLUSTER: 'true', REDIS_URL: 'redis://10.0.0.1:7000,redis://10.0.0.2:7000' });
    expect(config.redisCluster).toBe(true);
  });

  it('reads introspection and CORS origins', () => {
    const config = loadConfig({ INTROSPECTION: 'false', CORS_ORIGINS: 'https://app.example.com, http://localhost:3000' });
    expect(config.introspection).toBe(false);
    expect(config.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:3000']);
  });
});
