import {
  type AuthOutcome,
  authenticate,
  DEFAULT_RESPONSE_CONFIG,
  type Keyward,
  type ResponseConfig,
  scopeError,
  type ValidKey,
} from '@keyward/core';
import type { Context, Middleware, Next } from 'koa';
import { type ApiKeyAuthOptions, invalidOption, type KoaConfig, type KoaErrorHook, resolveKoaOptions, sendError } from './options.js';

declare module 'koa' {
  interface DefaultState {
    /** The verified API key, set by `apiKeyAuth()`. */
    apiKey?: ValidKey;
  }
}

/** The middleware, with its resolved config and a `requireScopes` bound to its realm and hook. */
export interface ApiKeyAuthMiddleware extends Middleware {
  readonly config: KoaConfig;
  requireScopes(...scopes: string[]): Middleware;
}

/**
 * Verifies the key of `ctx`; on success sets `ctx.state.apiKey` (and grace headers)
 * and answers `true`. Synchronous when nothing needs I/O (a cached key, an
 * in-memory limiter), a promise otherwise.
 */
export function authenticateContext(config: KoaConfig, ctx: Context, next: Next): boolean | Promise<boolean> {
  const { http } = config;
  const settle = (outcome: AuthOutcome): boolean | Promise<boolean> => {
    if (!outcome.ok) {
      const handled = config.onError(outcome.error, ctx, next);
      return handled instanceof Promise ? handled.then(() => false) : false;
    }
    ctx.state.apiKey = outcome.key;
    if (outcome.headers !== undefined) ctx.set(outcome.headers);
    return true;
  };
  const verified = (keyward: Keyward): boolean | Promise<boolean> => {
    const outcome = authenticate(keyward, { headers: ctx.headers, method: ctx.method, path: ctx.path, ip: ctx.ip }, http);
    return outcome instanceof Promise ? outcome.then(settle) : settle(outcome);
  };
  const pending = http.keyward();
  return pending instanceof Promise ? pending.then(verified) : verified(pending);
}

/**
 * Koa middleware: verifies the request's API key and puts it on `ctx.state.apiKey`,
 * or answers 400/401/403/429/503 exactly per the keyward HTTP table. A key in its
 * rotation grace passes with `Sunset` and `Deprecation` headers. The source address
 * is `ctx.ip`, so `app.proxy` decides whether `X-Forwarded-For` is trusted.
 */
export function apiKeyAuth(options?: ApiKeyAuthOptions): ApiKeyAuthMiddleware {
  const config = resolveKoaOptions(options);
  const middleware: Middleware = (ctx, next) => {
    const passed = authenticateContext(config, ctx, next);
    if (passed instanceof Promise) return passed.then((ok) => (ok ? next() : undefined));
    return passed ? next() : Promise.resolve();
  };
  return Object.assign(middleware, {
    config,
    requireScopes: (...scopes: string[]) => scopesMiddleware(scopes, config.http, config.onError),
  });
}

function scopesMiddleware(scopes: readonly string[], response: ResponseConfig, onError: KoaErrorHook): Middleware {
  if (scopes.length === 0 || !scopes.every((s) => typeof s === 'string' && /^[\x21\x23-\x5b\x5d-\x7e]{1,100}$/.test(s))) {
    throw invalidOption('requireScopes', 'needs one or more scope tokens (printable, no spaces or quotes)');
  }
  const required = [...scopes];
  return async (ctx, next) => {
    const error = scopeError(response, ctx.state.apiKey, required);
    if (error === undefined) await next();
    else await onError(error, ctx, next);
  };
}

/**
 * Per-route scopes after `apiKeyAuth()`: 403 `insufficient_scope` unless
 * `ctx.state.apiKey` holds every one (401 when no key was verified). Uses the
 * default realm (`api`); with a custom realm or `onError`, use `auth.requireScopes(...)`.
 */
export function requireScopes(...scopes: string[]): Middleware {
  return scopesMiddleware(scopes, DEFAULT_RESPONSE_CONFIG, sendError);
}
