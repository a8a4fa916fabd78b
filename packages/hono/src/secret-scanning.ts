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
 * bytes GitHub signed, and the report would be refused as 401). A body over 1 MiB is
 * refused (413): before it is read when its length is declared, else as soon as it passes 1 MiB.
 */
export function secretScanning(options: SecretScanningOptions): Handler {
  const endpoint = new SecretScanningEndpoint(options);
  return async (c) => {
    const rawBody = await readBody(c);
    if (rawBody === 'too_large') {
      return c.json({ error: 'payload_too_large', message: 'A report is at most 1 MiB.' }, 413, { 'cache-control': 'no-store' });
    }
    const headers: Record<string, string> = {};
    c.req.raw.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const answer = await endpoint.handle({ headers, rawBody, source: remoteAddressOf(c) });
    return c.body(answer.body, answer.status as ContentfulStatusCode, answer.headers);
  };
}

/**
 * The body's bytes, at most 1 MiB. With a declared length: refused before reading if it
 * is too large, else `c.req.arrayBuffer()`. Chunked (no length): read from the stream,
 * stopping as soon as it passes 1 MiB, so a sender cannot make the process buffer more.
 */
async function readBody(c: Context): Promise<Uint8Array | 'too_large'> {
  const length = c.req.header('content-length');
  const stream = c.req.raw.body;
  if (length !== undefined || stream === null || c.req.raw.bodyUsed) {
    if (Number(length) > MAX_REPORT_BYTES) return 'too_large';
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    return bytes.byteLength > MAX_REPORT_BYTES ? 'too_large' : bytes;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_REPORT_BYTES) {
      await reader.cancel();
      return 'too_large';
    }
    chunks.push(value);
  }
  // No Buffer: Hono runs on runtimes other than Node too.
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}
