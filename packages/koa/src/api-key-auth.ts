import {
  type AuthOutcome,
  authenticate,
  DEFAULT_RESPONSE_CONFIG,
  type HttpRequestLike,
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
 * The request as the core reads it. `path` and `ip` are getters: Koa parses the URL
 * and resolves the address (`app.proxy`) on first use, and the core asks only when
 * it needs them (a failure, an event), not for every good key.
 */
class KoaRequestView implements HttpRequestLike {
  readonly headers: HttpRequestLike['headers'];
  readonly method: string;
  readonly connection: object | undefined;

  constructor(private readonly ctx: Context) {
    this.headers = ctx.req.headers;
    this.connection = ctx.req.socket;
    this.method = ctx.req.method ?? ctx.method;
  }

  get path(): string {
    return this.ctx.path;
  }

  get ip(): string {
    return this.ctx.ip;
  }

  /** Node's headers as received: shows a second Authorization header, which Node drops from `headers`. */
  get rawHeaders(): readonly string[] {
    return this.ctx.req.rawHeaders;
  }
}

/** Applies an outcome to `ctx`: `true` to go on, or the error handled (`false`). */
function settle(config: KoaConfig, ctx: Context, next: Next, outcome: AuthOutcome): boolean | Promise<boolean> {
  if (!outcome.ok) {
    const handled = config.onError(outcome.error, ctx, next);
    return handled instanceof Promise ? handled.then(() => false) : false;
  }
  ctx.state.apiKey = outcome.key;
  if (outcome.headers !== undefined) ctx.set(outcome.headers);
  return true;
}

function verified(config: KoaConfig, ctx: Context, next: Next, keyward: Keyward): boolean | Promise<boolean> {
  const outcome = authenticate(keyward, new KoaRequestView(ctx), config.http);
  return outcome instanceof Promise ? outcome.then((o) => settle(config, ctx, next, o)) : settle(config, ctx, next, outcome);
}

/**
 * Verifies the key of `ctx`; on success sets `ctx.state.apiKey` (and grace headers)
 * and answers `true`. Synchronous when nothing needs I/O (a cached key, an
 * in-memory limiter), a promise otherwise; no closure is made on that path.
 */
export function authenticateContext(config: KoaConfig, ctx: Context, next: Next): boolean | Promise<boolean> {
  const keyward = config.http.keyward();
  return keyward instanceof Promise ? keyward.then((k) => verified(config, ctx, next, k)) : verified(config, ctx, next, keyward);
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
