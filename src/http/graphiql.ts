import { existsSync, readFileSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { isLocalBrowser } from './this-machine';

/**
 * GraphiQL for exploring the API without internet: Apollo Sandbox loads from a CDN, so on a
 * machine offline its page stays blank. This bundle (packages/graphiql, built with Vite from the
 * `graphiql` npm package, nothing loaded from elsewhere) is served at `/graphiql/`, with the
 * development key filled in the header pane for a browser on this machine, as Sandbox does.
 */
export interface GraphiQLOptions {
  /** The built bundle: index.html and assets/. Default: @onceql/graphiql's dist. */
  readonly distDir?: string;
  /** The development key, shown only to a loopback browser with no proxy in between that names this machine (see isLocalBrowser). */
  readonly devApiKey?: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.ttf': 'font/ttf',
  '.woff2': 'font/woff2',
  '.svg': 'image/svg+xml',
};
/** Asset names as Vite writes them: no folders, no dots at the start. */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,200}$/;
const CONFIG_MARK = '<!--onceql-config-->';

function defaultDistDir(): string | undefined {
  try {
    return path.join(path.dirname(require.resolve('@onceql/graphiql/package.json')), 'dist');
  } catch {
    return undefined;
  }
}

/**
 * Serves `/graphiql` (a redirect to `/graphiql/`), `/graphiql/` and `/graphiql/assets/<file>`.
 * Returns a handler that answers and returns true for those paths, false for any other.
 */
export function createGraphiQL(options: GraphiQLOptions = {}): (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => boolean {
  const distDir = options.distDir ?? defaultDistDir();
  const indexFile = distDir === undefined ? undefined : path.join(distDir, 'index.html');
  const template = indexFile !== undefined && existsSync(indexFile) ? readFileSync(indexFile, 'utf8') : undefined;
  // JSON in a script element: '<' escaped so that no value can close the element.
  const configScript = (headers: Record<string, string>): string => `<script>window.__ONCEQL_GRAPHIQL__ = ${JSON.stringify({ headers }).replace(/</g, '\\u003c')};</script>`;

  return function serveGraphiQL(req, res, url) {
    if (url.pathname !== '/graphiql' && !url.pathname.startsWith('/graphiql/')) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.statusCode = 405;
      res.setHeader('Allow', 'GET, HEAD');
      res.end();
      return true;
    }
    if (template === undefined || distDir === undefined) {
      res.statusCode = 404;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end('GraphiQL is not built: run `npm run build --workspace @onceql/graphiql` (npm ci builds it).\n');
      return true;
    }
    if (url.pathname === '/graphiql') {
      res.statusCode = 308;
      res.setHeader('Location', `/graphiql/${url.search}`);
      res.end();
      return true;
    }
    if (url.pathname === '/graphiql/') {
      // As for Sandbox: a loopback socket is not enough (DNS rebinding), the browser must name this machine.
      const headers: Record<string, string> = options.devApiKey !== undefined && isLocalBrowser(req) ? { 'api-key': options.devApiKey } : {};
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.setHeader('cache-control', 'no-store');
      res.end(template.replace(CONFIG_MARK, configScript(headers)));
      return true;
    }
    const name = url.pathname.slice('/graphiql/assets/'.length);
    const file = url.pathname.startsWith('/graphiql/assets/') && ASSET_NAME.test(name) ? path.join(distDir, 'assets', name) : undefined;
    if (file === undefined || !existsSync(file)) {
      res.statusCode = 404;
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end('Not found.\n');
      return true;
    }
    res.setHeader('content-type', CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream');
    // Vite puts a content hash in every asset name.
    res.setHeader('cache-control', 'public, max-age=31536000, immutable');
    res.end(readFileSync(file));
    return true;
  };
}
