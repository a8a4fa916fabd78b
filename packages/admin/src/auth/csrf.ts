import type { IncomingMessage } from 'node:http';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cross-site request forgery: an unsafe method is served only when the browser says
 * the request comes from this origin (`Sec-Fetch-Site: same-origin`), or when it is an
 * API call with a Bearer admin key and no cookie (a browser cannot be made to send a
 * Bearer header cross-site, and without a cookie there is no ambient authority to
 * abuse). Anything else, including a request with no `Sec-Fetch-Site` and a cookie,
 * is refused.
 */
export function csrfAllowed(req: IncomingMessage, method: string): boolean {
  if (SAFE.has(method)) return true;
  const site = req.headers['sec-fetch-site'];
  if (site === 'same-origin') return true;
  const bearer = /^bearer\s+\S/i.test(req.headers.authorization ?? '');
  return bearer && req.headers.cookie === undefined && site === undefined;
}
