import { randomBytes } from 'node:crypto';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Tracing } from '../../src/observability';
import { startTracing } from '../../src/observability';
import { CreateTransferDocument } from '../generated/graphql';
import { ledgerClient } from '../helpers/ledger';
import type { TestServer } from '../helpers/server';
import { gql, startTestServer } from '../helpers/server';

// Tracing as `main` starts it (the SDK loaded on demand), with an in-process exporter in place of
// OTLP: a transfer sent with a W3C traceparent yields its spans under the caller's trace.
describe('traces (OpenTelemetry)', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  let server: TestServer;

  beforeAll(async () => {
    tracing = await startTracing({ serviceName: 'onceql-test', exporter });
    server = await startTestServer({ TRACING: 'otlp' });
  });
  afterAll(async () => {
    await server.stop();
    await tracing.shutdown();
  });

  async function spansOf(traceId: string, until: (spans: ReadableSpan[]) => boolean): Promise<ReadableSpan[]> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const spans = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
      if (until(spans) || Date.now() > deadline) return spans;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('continues the caller’s traceparent through the admit step, each script and the resolvers', async () => {
    const { apiKey } = await server.newTenant('tracing');
    const ledger = ledgerClient(server.url, apiKey);
    const funding = await ledger.account('funding', 'EUR', true);
    const target = await ledger.account('target');

    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const traced = { ...ledger.headers, traceparent: `00-${traceId}-${callerSpanId}-01` };
    const response = await gql(server.url, CreateTransferDocument, { input: { fromAccountId: funding, toAccountId: target, amount: '10', currency: 'EUR', reference: null }, idempotencyKey: `trace-${traceId}` }, traced);
    expect(response.status).toBe(200);

    const spans = await spansOf(traceId, (found) => found.some((span) => span.name === 'POST /graphql'));
    const byName = (name: string) => spans.filter((span) => span.name === name);
    const [request] = byName('POST /graphql');
    expect(request?.parentSpanContext?.spanId).toBe(callerSpanId);
    expect(request?.attributes['http.response.status_code']).toBe(200);
    const requestSpanId = request?.spanContext().spanId;

    const [admit] = byName('admit');
    expect(admit?.parentSpanContext?.spanId).toBe(requestSpanId);
    const [admitScript] = byName('redis admit');
    expect(admitScript?.parentSpanContext?.spanId).toBe(admit?.spanContext().spanId);
    expect(byName('redis createTransfer')).toHaveLength(1);
    expect(byName('resolve Mutation.createTransfer')).toHaveLength(1);
    expect(byName('resolve Transfer.fromAccount')).toHaveLength(1);
    // Nothing of this request left the trace, and each span belongs to it.
    for (const span of spans) expect(span.spanContext().traceId).toBe(traceId);

    // A request without traceparent starts a trace of its own.
    const before = new Set(exporter.getFinishedSpans().map((span) => span.spanContext().traceId));
    await ledger.transfer(funding, target, '1');
    const deadline = Date.now() + 10_000;
    let fresh: ReadableSpan | undefined;
    while (fresh === undefined && Date.now() < deadline) {
      fresh = exporter.getFinishedSpans().find((span) => span.name === 'POST /graphql' && !before.has(span.spanContext().traceId));
      if (fresh === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(fresh?.parentSpanContext).toBeUndefined();
  });
});
