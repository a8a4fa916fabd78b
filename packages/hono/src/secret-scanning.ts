import { MAX_REPORT_BYTES, SecretScanningEndpoint, type SecretScanningOptions } from '@keyward/core';
import type { Context, Handler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** The client address on `@hono/node-server` (its `c.env.incoming`), for the endpoint's rate limit. */
function remoteAddressOf(c: Context): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return typeof env === 'object' && env !== null ? env.incoming?.socket?.remoteAddress : undefined;
}

/**
 * The secret-scanning endpoint on Hono, as a route handler:
 * `app.post('/keyward/secret-scanning', secretScanning({ keyward }))`.
 *
 * The signature covers the raw bytes: the handler reads them with `c.req.arrayBuffer()`.
 * Hono parses no body unless asked, so other routes may read JSON as they like; do not put
 * a JSON validator on this route (Hono would hand this handler re-serialised JSON, not the
 * bytes GitHub signed, and the report would be refused as 401). A declared body over
 * 1 MiB is refused (413) before it is read.
 */
export function secretScanning(options: SecretScanningOptions): Handler {
  const endpoint = new SecretScanningEndpoint(options);
  return async (c) => {
    const declared = Number(c.req.header('content-length'));
    if (Number.isFinite(declared) && declared > MAX_REPORT_BYTES) {
      return c.json({ error: 'payload_too_large', message: 'A report is at most 1 MiB.' }, 413, { 'cache-control': 'no-store' });
    }
    // A chunked body has no declared length: the endpoint refuses it (413) once read.
    const rawBody = new Uint8Array(await c.req.arrayBuffer());
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const answer = await endpoint.handle({ headers, rawBody, source: remoteAddressOf(c) });
    return c.body(answer.body, answer.status as ContentfulStatusCode, answer.headers);
  };
}
