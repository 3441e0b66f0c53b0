import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger';
import { Metrics } from './metrics';
import { createMetricsServer } from './metrics-server';
import type { OverloadLimits } from './overload';
import { EventLoopLag, LoadShedder, TenantInFlight } from './overload';
import type { RequestObservabilityOptions } from './requests';
import { RequestObservability } from './requests';

/** Where metrics are served and whether traces are made. */
export interface ObservabilitySettings {
  /**
   * Port of the Prometheus listener serving `GET /metrics` (METRICS_PORT); undefined (the default)
   * serves none. A port of its own keeps metrics off the public API: expose it to Prometheus only.
   */
  readonly metricsPort: number | undefined;
  /**
   * Address the metrics listener binds (METRICS_HOST, default 127.0.0.1, not HOST: with HOST=0.0.0.0
   * the metrics would be public too; set it to reach them from another machine).
   */
  readonly metricsHost: string;
  /** A `tenant` label on the request counter (METRICS_TENANT_LABEL, default false): one series per tenant. */
  readonly metricsTenantLabel: boolean;
  /**
   * OpenTelemetry traces exported over OTLP/HTTP (TRACING=otlp; the default is `otlp` when
   * OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set, else `off`).
   */
  readonly tracing: boolean;
  /** `service.name` of the spans (OTEL_SERVICE_NAME, default `onceql`). */
  readonly serviceName: string;
}

export interface Observability {
  readonly metrics: Metrics;
  readonly shedder: LoadShedder;
  readonly requests: RequestObservability;
  /** Starts measuring the event loop and, with METRICS_PORT, the metrics listener. */
  start(): Promise<void>;
  /** Where the metrics listener listens, once started; null without one. */
  metricsAddress(): AddressInfo | null;
  stop(): Promise<void>;
}

/** What the request observer asks of the rest of the app, handed in by the composition root. */
export type RequestHooks = Pick<RequestObservabilityOptions, 'hasUsableKey' | 'scriptFailureKind'>;

const SHED_LEVEL = { none: 0, reads: 1, all: 2 } as const;

/**
 * Metrics, load shedding and the request observer of one server, built from its settings. Nothing
 * runs until `start` (no timer, no listener), so building a server stays free of side effects.
 */
export function createObservability(settings: ObservabilitySettings, limits: OverloadLimits, logger: Logger, hooks: RequestHooks): Observability {
  const metrics = new Metrics({ tenantLabel: settings.metricsTenantLabel });
  let lag: EventLoopLag | undefined;
  const shedder = new LoadShedder(limits, () => lag?.ms() ?? 0);
  metrics.observeLoad(() => ({ lagSeconds: (lag?.ms() ?? 0) / 1000, shedding: SHED_LEVEL[shedder.level()] }));
  const requests = new RequestObservability({ logger, metrics, shedder, tenants: new TenantInFlight(limits.tenantMaxInFlight), tracing: settings.tracing, ...hooks });
  let metricsServer: http.Server | undefined;

  return {
    metrics,
    shedder,
    requests,
    async start() {
      lag ??= new EventLoopLag();
      if (settings.metricsPort === undefined || metricsServer !== undefined) return;
      const server = createMetricsServer(metrics, logger);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(settings.metricsPort, settings.metricsHost, () => {
          server.off('error', reject);
          resolve();
        });
      });
      metricsServer = server;
    },
    metricsAddress() {
      const address = metricsServer?.address();
      return address !== undefined && address !== null && typeof address === 'object' ? address : null;
    },
    async stop() {
      lag?.stop();
      lag = undefined;
      const server = metricsServer;
      metricsServer = undefined;
      if (server !== undefined) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}
