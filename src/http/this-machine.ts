import type http from 'node:http';
import { isLoopback } from '../auth/ip';

/** `localhost`, `127.0.0.1` or `[::1]`, with any port or none. */
const LOOPBACK_HOST = /^(?:localhost|127\.0\.0\.1|\[::1\])(?::\d{1,5})?$/i;

/** Whether a URL (an Origin or Referer header) is http(s) on a loopback name. */
function isLoopbackUrl(value: string): boolean {
  if (!/^https?:\/\//i.test(value)) return false;
  try {
    return LOOPBACK_HOST.test(new URL(value).host);
  } catch {
    return false;
  }
}

/** A header's one value, or undefined (a repeated header counts as absent only when it is absent). */
type HeaderOf = (name: string) => string | undefined;

/**
 * Whether the browser asked for this machine by a loopback name: the Host header, and the Origin
 * and Referer headers when sent. A loopback socket is not enough: with DNS rebinding, a page of
 * attacker.example makes the browser on this machine call 127.0.0.1 under the attacker's name,
 * and the page it reads back must not hold the dev key.
 */
export function namesThisMachine(header: HeaderOf): boolean {
  const host = header('host');
  const origin = header('origin');
  const referer = header('referer');
  return host !== undefined && LOOPBACK_HOST.test(host) && (origin === undefined || isLoopbackUrl(origin)) && (referer === undefined || isLoopbackUrl(referer));
}

/**
 * Whether a page may show the development key to this request: a browser on this machine,
 * straight to the socket (no proxy in between), that calls this machine by a loopback name.
 */
export function isLocalBrowser(req: http.IncomingMessage): boolean {
  const header: HeaderOf = (name) => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  return isLoopback(req.socket.remoteAddress) && header('x-forwarded-for') === undefined && header('forwarded') === undefined && namesThisMachine(header);
}
