import http from 'node:http';
import type { Logger } from './logger';
import type { Metrics } from './metrics';

/**
 * The Prometheus listener: `GET /metrics` on a port of its own (METRICS_PORT), so the public API
 * never shows it and no admin key has to be handed to Prometheus. Anything else is 404.
 */
export function createMetricsServer(metrics: Metrics, logger: Logger): http.Server {
  return http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.statusCode = 404;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end('Metrics are at GET /metrics.\n');
      return;
    }
    metrics.scrape().then(
      ({ contentType, body }) => {
        res.setHeader('content-type', contentType);
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        logger.error('metrics scrape failed', { error });
        res.statusCode = 500;
        res.end();
      },
    );
  });
}
