import type { ServerResponse } from 'node:http';

/**
 * Headers on every console response: a strict CSP (no inline script or style, no
 * other origin, no framing), no MIME sniffing, no referrer (URLs carry client ids).
 */
export function securityHeaders(res: ServerResponse): void {
  res.setHeader(
    'Content-Security-Policy',
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'",
  );
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

export function sendHtml(res: ServerResponse, status: number, html: string, options: { noStore?: boolean } = {}): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  // Console pages show key metadata: never cached by the browser or a proxy. A page
  // with a new key is `no-store` so that going back cannot show it again.
  res.setHeader('Cache-Control', options.noStore ? 'no-store' : 'no-cache, private');
  res.end(html);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, options: { noStore?: boolean } = {}): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', options.noStore ? 'no-store' : 'no-cache, private');
  res.end(JSON.stringify(body));
}

/** A 303 to a URL relative to the current page (RFC 9110 allows relative `Location`). */
export function redirect(res: ServerResponse, location: string, cookies: readonly string[] = []): void {
  res.statusCode = 303;
  if (cookies.length > 0) res.setHeader('Set-Cookie', [...cookies]);
  res.setHeader('Location', location);
  res.setHeader('Cache-Control', 'no-store');
  res.end();
}
