import { SecretScanningEndpoint, type SecretScanningOptions } from '@keyward/core';
import type { Context, Next } from 'koa';

export interface SecretScanningOptionsKoa extends SecretScanningOptions {
  /** Where GitHub (or another scanner) posts reports. Default `/keyward/secret-scanning`. */
  path?: string;
}

/**
 * The secret-scanning endpoint on Koa: `POST <path>` is answered from the raw request
 * (Koa leaves the body unread; with a body parser in front, its `ctx.request.rawBody` is
 * used), anything else goes on.
 */
export function secretScanning(options: SecretScanningOptionsKoa): (ctx: Context, next: Next) => Promise<void> {
  const path = options.path ?? '/keyward/secret-scanning';
  if (typeof path !== 'string' || !path.startsWith('/'))
    throw new TypeError(`secretScanning: option "path" must start with "/"; got ${JSON.stringify(path)}`);
  const handle = new SecretScanningEndpoint(options).nodeHandler();
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== path) return next();
    const raw = (ctx.request as { rawBody?: unknown }).rawBody;
    if (typeof raw === 'string') (ctx.req as { rawBody?: unknown }).rawBody = raw;
    ctx.respond = false;
    await new Promise<void>((resolve) => {
      ctx.res.once('finish', resolve);
      ctx.res.once('close', resolve);
      handle(ctx.req, ctx.res);
    });
  };
}
