import { MAX_REPORT_BYTES, SecretScanningEndpoint, type SecretScanningOptions } from '@keyward/core';
import type { FastifyPluginCallback } from 'fastify';

export interface SecretScanningOptionsFastify extends SecretScanningOptions {
  /** Where GitHub (or another scanner) posts reports. Default `/keyward/secret-scanning` (under the plugin's `prefix`, if any). */
  path?: string;
}

/**
 * The secret-scanning endpoint on Fastify, as a plugin:
 * `app.register(secretScanning, { keyward })` adds `POST /keyward/secret-scanning`.
 *
 * The signature covers the raw bytes, so the plugin keeps them: inside its own
 * encapsulated context (it is deliberately not wrapped in `fastify-plugin`) it replaces
 * the JSON parser (and any other) with one that hands the route the body as a `Buffer`.
 * The app's own JSON parser is untouched on every other route, whatever the order of
 * registration. The body limit is 1 MiB (413 above it, before anything is read).
 */
export const secretScanning: FastifyPluginCallback<SecretScanningOptionsFastify> = (app, options, done) => {
  const path = options.path ?? '/keyward/secret-scanning';
  let endpoint: SecretScanningEndpoint;
  try {
    if (typeof path !== 'string' || !path.startsWith('/'))
      throw new TypeError(`secretScanning: option "path" must start with "/"; got ${JSON.stringify(path)}`);
    endpoint = new SecretScanningEndpoint(options);
  } catch (error) {
    done(error as Error);
    return;
  }
  const keepBytes = (_request: unknown, body: Buffer, parsed: (error: Error | null, body?: Buffer) => void) => parsed(null, body);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: MAX_REPORT_BYTES }, keepBytes);
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_REPORT_BYTES }, keepBytes);
  // GitHub holds no API key: the route is public to the keyward auth plugin; the signature is its check.
  app.post(path, { bodyLimit: MAX_REPORT_BYTES, config: { apiKey: false } }, async (request, reply) => {
    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const answer = await endpoint.handle({ headers: request.headers, rawBody, source: request.ip });
    return reply.code(answer.status).headers(answer.headers).send(answer.body);
  });
  done();
};
