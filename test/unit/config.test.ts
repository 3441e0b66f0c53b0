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
    ['TRUST_PROXY', '-1'],
    ['TRUST_PROXY', '33'],
    ['TRUST_PROXY', '10.0.0.0/8, proxy.example.com'],
    ['TRUST_PROXY', '10.0.0.0/33'],
    ['HTTP_HEADERS_TIMEOUT_MS', '0'],
    ['HTTP_HEADERS_TIMEOUT_MS', '1.5'],
    ['HTTP_REQUEST_TIMEOUT_MS', 'soon'],
    ['HTTP_KEEP_ALIVE_TIMEOUT_MS', '-5'],
    ['HTTP_MAX_BODY_BYTES', '10'],
    ['HTTP_MAX_BODY_BYTES', '1e6'],
    ['HTTP_MAX_CONNECTIONS', '0'],
    ['HTTP_MAX_CONNECTIONS_PER_IP', 'many'],
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

  it('reads the HTTP door settings, with defaults', () => {
    expect(loadConfig({}).http).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      responseTimeoutMs: 30_000,
      maxBodyBytes: 1024 * 1024,
      maxConnections: 10_000,
      maxConnectionsPerIp: 100,
    });
    const config = loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '200', HTTP_REQUEST_TIMEOUT_MS: '400', HTTP_MAX_BODY_BYTES: '65536', HTTP_MAX_CONNECTIONS_PER_IP: '3' });
    expect(config.http).toMatchObject({ headersTimeoutMs: 200, requestTimeoutMs: 400, maxBodyBytes: 65536, maxConnectionsPerIp: 3 });
    expect(Object.isFrozen(config.http)).toBe(true);
  });

  it('refuses a header timeout longer than the request timeout, naming both', () => {
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '5000', HTTP_REQUEST_TIMEOUT_MS: '1000' })).toThrow(/HTTP_HEADERS_TIMEOUT_MS.*HTTP_REQUEST_TIMEOUT_MS/);
  });

  it('reads TRUST_PROXY as a hop count or a list of proxy addresses and ranges', () => {
    expect(loadConfig({}).trustProxy).toBe(0);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8, 2001:db8::1' }).trustProxy).toEqual(['loopback', '10.0.0.0/8', '2001:db8::1']);
  });
});
