import { SecretScanningEndpoint, type SecretScanningOptions } from '@keyward/core';
import type { NextFunction, Request, Response } from 'express';

export interface SecretScanningRouterOptions extends SecretScanningOptions {
  /** Where GitHub (or another scanner) posts reports. Default `/keyward/secret-scanning`. */
  path?: string;
}

/**
 * The secret-scanning endpoint on Express: `POST <path>` is handled (raw body, signature,
 * revoke, answer), anything else goes on. Mount it before `express.json()`, or give its
 * path `express.raw({ type: 'application/json' })`: the signature covers the raw bytes.
 */
export function secretScanningRouter(options: SecretScanningRouterOptions): (req: Request, res: Response, next: NextFunction) => void {
  const path = options.path ?? '/keyward/secret-scanning';
  if (typeof path !== 'string' || !path.startsWith('/'))
    throw new TypeError(`secretScanningRouter: option "path" must start with "/"; got ${JSON.stringify(path)}`);
  const handle = new SecretScanningEndpoint(options).nodeHandler();
  return (req, res, next) => {
    if (req.method !== 'POST' || req.path !== path) return next();
    handle(req, res);
  };
}
