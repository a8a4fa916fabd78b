import {
  type AuthOutcome,
  authenticate,
  DEFAULT_RESPONSE_CONFIG,
  type Keyward,
  NodeRequestView,
  scopeError,
  setRequestKey,
  type ValidKey,
} from '@keyward/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  type ApiKeyAuthOptions,
  type ExpressConfig,
  type ExpressErrorHook,
  invalidOption,
  resolveExpressOptions,
  sendError,
} from './options.js';

declare global {
  namespace Express {
    interface Request {
      /** The verified API key, set by `apiKeyAuth()`. */
      apiKey?: ValidKey;
    }
  }
}

/** The middleware, with its resolved config and a `requireScopes` bound to its realm. */
export interface ApiKeyAuthMiddleware extends RequestHandler {
  readonly config: ExpressConfig;
  requireScopes(...scopes: string[]): RequestHandler;
}

/**
 * Express middleware: verifies the request's API key and puts it on `req.apiKey`,
 * or answers 400/401/403/429/503 exactly per the keyward HTTP table. A key in its
 * rotation grace passes with `Sunset` and `Deprecation` headers. The source address
 * is `req.ip`, so Express's `trust proxy` setting decides it.
 */
export function apiKeyAuth(options?: ApiKeyAuthOptions): ApiKeyAuthMiddleware {
  const config = resolveExpressOptions(options);
  const { http, onError } = config;
  // Synchronous all the way when nothing needs I/O (a cached key, an in-memory
  // limiter): an async middleware costs Express a promise and a tick per request.
  function finish(outcome: AuthOutcome, req: Request, res: Response, next: NextFunction): void | Promise<void> {
    if (!outcome.ok) {
      const handled = onError(outcome.error, req, res, next);
      return handled instanceof Promise ? handled.then(() => undefined) : undefined;
    }
    setRequestKey(req, outcome.key);
    if (outcome.headers !== undefined) res.set(outcome.headers);
    next();
  }
  function proceed(keyward: Keyward, req: Request, res: Response, next: NextFunction): void | Promise<void> {
    const outcome = authenticate(keyward, new NodeRequestView(req), http);
    return outcome instanceof Promise ? outcome.then((o) => finish(o, req, res, next)) : finish(outcome, req, res, next);
  }
  const middleware = ((req, res, next) => {
    let done: void | Promise<void>;
    try {
      const keyward = http.keyward();
      done = keyward instanceof Promise ? keyward.then((k) => proceed(k, req, res, next)) : proceed(keyward, req, res, next);
    } catch (error) {
      next(error);
      return;
    }
    if (done instanceof Promise) done.catch(next);
  }) as ApiKeyAuthMiddleware;
  return Object.assign(middleware, { config, requireScopes: (...scopes: string[]) => scopesMiddleware(scopes, http, onError) });
}

function scopesMiddleware(scopes: readonly string[], response: typeof DEFAULT_RESPONSE_CONFIG, onError: ExpressErrorHook): RequestHandler {
  if (scopes.length === 0 || !scopes.every((s) => typeof s === 'string' && /^[\x21\x23-\x5b\x5d-\x7e]{1,100}$/.test(s))) {
    throw invalidOption('requireScopes', 'needs one or more scope tokens (printable, no spaces or quotes)');
  }
  const required = [...scopes];
  return (req, res, next) => {
    const error = scopeError(response, req.apiKey, required);
    if (error === undefined) return next();
    Promise.resolve(onError(error, req, res, next)).catch(next);
  };
}

/**
 * Per-route scopes after `apiKeyAuth()`: 403 `insufficient_scope` unless `req.apiKey`
 * holds every one (401 when no key was verified). Uses the default realm (`api`);
 * with a custom realm or `onError`, use `auth.requireScopes(...)` of your middleware.
 */
export function requireScopes(...scopes: string[]): RequestHandler {
  return scopesMiddleware(scopes, DEFAULT_RESPONSE_CONFIG, sendError);
}
