/**
 * What keeps the local runtime a laptop service: its servers listen on 127.0.0.1, but any web page the
 * developer opens can send requests there (a cross-site form or `fetch`, or DNS rebinding through a
 * hostname of its own). Every server of the runtime refuses a `Host` that is not this machine's loopback
 * name and port, a foreign `Origin`, and a browser's cross-site fetch; the AWS endpoints and emulators
 * then also require a signature with the per-install keys, which no web page has.
 */
import type { IncomingMessage } from 'node:http';

/** The names a loopback server is reached by. */
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/** `host:port` of every loopback name for `port`. */
function loopbackHosts(port: number): Set<string> {
  return new Set(LOOPBACK_NAMES.map((name) => `${name}:${port}`));
}

/**
 * Why a request to the loopback server on `port` must be refused, or undefined when it may proceed.
 * @param options.navigation allow a browser's top-level GET from another site (following a link to a
 *   page), which can read nothing back; every other cross-site request is refused.
 */
export function foreignRequestReason(
  request: IncomingMessage,
  port: number,
  options: { navigation?: boolean } = {},
): string | undefined {
  const hosts = loopbackHosts(port);
  const host = (request.headers.host ?? '').toLowerCase();
  if (!hosts.has(host)) return `unexpected Host header "${request.headers.host ?? ''}"`;
  const method = (request.method ?? 'GET').toUpperCase();
  const navigation =
    options.navigation === true &&
    (method === 'GET' || method === 'HEAD') &&
    request.headers['sec-fetch-mode'] === 'navigate';
  const origin = request.headers.origin;
  if (origin !== undefined) {
    let originHost = '';
    try {
      const url = new URL(origin);
      originHost = url.protocol === 'http:' ? url.host.toLowerCase() : '';
    } catch {
      // "null" (sandboxed frames, file: pages) and anything unparsable are foreign.
    }
    if (!hosts.has(originHost) && !navigation) return `cross-origin request from "${origin}"`;
  }
  const site = request.headers['sec-fetch-site'];
  if ((site === 'cross-site' || site === 'same-site') && !navigation) return `${site} request`;
  return undefined;
}
