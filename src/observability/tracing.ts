import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Context as TraceContext, Span, Tracer } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * Traces with OpenTelemetry. The code only ever uses `@opentelemetry/api`, whose default tracer
 * does nothing; the SDK and the OTLP exporter are loaded (dynamic import) only when tracing is
 * turned on, so a server without tracing never loads them.
 */
export const TRACER_NAME = 'onceql';

export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

export interface TracingOptions {
  /** `service.name` of the spans (OTEL_SERVICE_NAME, default `onceql`). */
  readonly serviceName?: string;
  /**
   * Where spans go. Default: the OTLP/HTTP exporter, which reads its endpoint and headers from the
   * standard OTEL_EXPORTER_OTLP_* variables, behind a batching processor. Tests pass an in-memory
   * exporter, which gets each span as it ends.
   */
  readonly exporter?: SpanExporter;
}

export interface Tracing {
  /** Flushes the spans not yet exported and stops the SDK. */
  shutdown(): Promise<void>;
}

/**
 * Starts the OpenTelemetry SDK: a Node tracer provider registered globally, with the
 * AsyncLocalStorage context manager (a span started in a request is the parent of what the
 * request does next) and the W3C `traceparent` propagator.
 */
export async function startTracing(options: TracingOptions = {}): Promise<Tracing> {
  const { NodeTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-node');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  let processor;
  if (options.exporter !== undefined) {
    processor = new SimpleSpanProcessor(options.exporter);
  } else {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    processor = new BatchSpanProcessor(new OTLPTraceExporter());
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName ?? 'onceql' }),
    spanProcessors: [processor],
  });
  provider.register();
  return {
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** The trace context a caller sent (`traceparent`, `tracestate`), or the current one when none. */
export function callerContext(headers: Record<string, string | string[] | undefined>): TraceContext {
  return propagation.extract(context.active(), headers);
}

/** Starts the span of one incoming request, child of the caller's span when it sent one. */
export function startServerSpan(name: string, parent: TraceContext, attributes: Record<string, string | number>): Span {
  return tracer().startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
}

/**
 * Runs `work` inside a new span (the current span's child), ending it when the work settles and
 * marking it failed when it throws.
 */
export function inSpan<T>(name: string, attributes: Record<string, string | number>, work: () => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work();
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

export function failSpan(span: Span, error: unknown): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message.slice(0, 200) : String(error).slice(0, 200) });
}
