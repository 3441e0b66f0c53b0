import { LoadShedder, TenantInFlight } from '../../src/observability/overload';
import { requestKind } from '../../src/observability/requests';
import { loadConfig } from '../../src/config';

const limits = { shedReadsInFlight: 4, shedWritesInFlight: 6, shedReadsLagMs: 100, shedWritesLagMs: 300, tenantMaxInFlight: 2 };

describe('LoadShedder', () => {
  it('sheds reads first, then everything, by requests in flight', () => {
    const shedder = new LoadShedder(limits, () => 0);
    const releases = Array.from({ length: 6 }, () => shedder.enter());
    expect(shedder.inFlight).toBe(6);
    expect([3, 4, 5, 6].map((count) => shedder.level(count))).toEqual(['none', 'reads', 'reads', 'all']);
    expect(shedder.sheds('write', 5)).toBe(false);
    expect(shedder.sheds('read', 5)).toBe(true);
    expect(shedder.sheds('write', 6)).toBe(true);
    releases[0]?.();
    releases[0]?.(); // a second release counts once
    expect(shedder.inFlight).toBe(5);
  });

  it('sheds by sustained event-loop lag the same way', () => {
    let lag = 0;
    const shedder = new LoadShedder(limits, () => lag);
    expect(shedder.level(0)).toBe('none');
    lag = 100;
    expect(shedder.level(0)).toBe('reads');
    lag = 300;
    expect(shedder.level(0)).toBe('all');
  });
});

describe('TenantInFlight', () => {
  it('lets each tenant have its limit in flight, apart from the others', () => {
    const tenants = new TenantInFlight(2);
    const a1 = tenants.acquire('a');
    const a2 = tenants.acquire('a');
    expect(tenants.acquire('a')).toBeNull();
    expect(tenants.acquire('b')).not.toBeNull();
    a1?.();
    a1?.();
    expect(tenants.inFlight('a')).toBe(1);
    expect(tenants.acquire('a')).not.toBeNull();
    a2?.();
  });
});

describe('requestKind', () => {
  it('tells a mutation from anything else, by the operation that would run', () => {
    expect(requestKind({ query: 'mutation { createAccount }', operationName: undefined, variables: {} })).toBe('write');
    expect(requestKind({ query: 'query Q { a } mutation M { b }', operationName: 'M', variables: {} })).toBe('write');
    expect(requestKind({ query: 'query Q { a } mutation M { b }', operationName: 'Q', variables: {} })).toBe('read');
    expect(requestKind({ query: '{ a }', operationName: undefined, variables: {} })).toBe('read');
    expect(requestKind({ query: 'mutation {', operationName: undefined, variables: {} })).toBe('read');
    expect(requestKind({ query: 42, operationName: undefined, variables: {} })).toBe('read');
    // Past the token cap, nothing is parsed: a read.
    expect(requestKind({ query: `mutation { ${'a '.repeat(5000)} }`, operationName: undefined, variables: {} })).toBe('read');
  });
});

describe('overload settings', () => {
  it('have defaults and refuse a reads threshold above the writes one', () => {
    expect(loadConfig({}).overload).toEqual({ shedReadsInFlight: 800, shedWritesInFlight: 1000, shedReadsLagMs: 500, shedWritesLagMs: 1000, tenantMaxInFlight: 50 });
    expect(() => loadConfig({ SHED_READS_IN_FLIGHT: '10', SHED_WRITES_IN_FLIGHT: '5' })).toThrow(/SHED_READS_IN_FLIGHT/);
    expect(() => loadConfig({ SHED_READS_LAG_MS: '900', SHED_WRITES_LAG_MS: '800' })).toThrow(/SHED_READS_LAG_MS/);
    expect(() => loadConfig({ TENANT_MAX_IN_FLIGHT: '0' })).toThrow(/TENANT_MAX_IN_FLIGHT/);
  });

  it('metrics are off without METRICS_PORT; tracing is on with an OTLP endpoint or TRACING=otlp', () => {
    expect(loadConfig({}).observability).toMatchObject({ metricsPort: undefined, tracing: false, metricsTenantLabel: false, serviceName: 'onceql' });
    // Not HOST: an API on 0.0.0.0 does not make its metrics public.
    expect(loadConfig({ METRICS_PORT: '9464', HOST: '0.0.0.0' }).observability).toMatchObject({ metricsPort: 9464, metricsHost: '127.0.0.1' });
    expect(loadConfig({ METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' }).observability).toMatchObject({ metricsHost: '0.0.0.0' });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).observability.tracing).toBe(true);
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', TRACING: 'off' }).observability.tracing).toBe(false);
    expect(loadConfig({ TRACING: 'otlp' }).observability.tracing).toBe(true);
    expect(() => loadConfig({ TRACING: 'jaeger' })).toThrow(/TRACING/);
  });
});

describe('EventLoopLag', () => {
  it('reads about 0 on an idle loop and the lag of a loop kept busy for two windows', async () => {
    const { EventLoopLag } = await import('../../src/observability/overload');
    const samples: number[] = [];
    const lag = new EventLoopLag(300, (ms) => samples.push(ms));
    try {
      while (samples.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
      // Loose: only a starved machine reads more on an idle loop.
      expect(lag.ms()).toBeLessThan(250);
      // Block the loop for 120 ms at a time (a few times per window), across more than two windows.
      const blocked = samples.length;
      while (samples.length < blocked + 3) {
        const until = Date.now() + 120;
        while (Date.now() < until) {
          // busy
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(lag.ms()).toBeGreaterThanOrEqual(60);
    } finally {
      lag.stop();
    }
  });
});
