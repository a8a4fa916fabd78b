import {
  type AuthOutcome,
  authenticate,
  DEFAULT_RESPONSE_CONFIG,
  type Keyward,
  type ResponseConfig,
  scopeError,
  type ValidKey,
} from '@keyward/core';
import type { Context, MiddlewareHandler, Next } from 'hono';
import { type ApiKeyAuthOptions, type HonoConfig, type HonoErrorHook, invalidOption, resolveHonoOptions, sendError } from './options.js';
import { HonoRequestView } from './request-view.js';

/** Hono variables set by `apiKeyAuth()`: `c.get('apiKey')`. Use as `new Hono<{ Variables: ApiKeyVariables }>()`. */
export interface ApiKeyVariables {
  apiKey: ValidKey;
}

export type ApiKeyEnv = { Variables: ApiKeyVariables };

/** What Hono takes back from a middleware (a promise of a response, or of nothing). */
type MiddlewareResult = ReturnType<MiddlewareHandler<ApiKeyEnv>>;

/** The middleware, with its resolved config and a `requireScopes` bound to its realm and hook. */
export interface ApiKeyAuthMiddleware extends MiddlewareHandler<ApiKeyEnv> {
  readonly config: HonoConfig;
  requireScopes(...scopes: string[]): MiddlewareHandler<ApiKeyEnv>;
}

/** The outcome applied to `c`: `undefined` to go on (key set, grace headers added), or the error's response. */
function settle(config: HonoConfig, c: Context, outcome: AuthOutcome): Response | undefined | Promise<Response | undefined> {
  if (!outcome.ok) return config.onError(outcome.error, c) as Response | Promise<Response>;
  c.set('apiKey', outcome.key);
  if (outcome.headers !== undefined) for (const [name, value] of Object.entries(outcome.headers)) c.header(name, value);
  return undefined;
}

function verified(config: HonoConfig, c: Context, keyward: Keyward): Response | undefined | Promise<Response | undefined> {
  const outcome = authenticate(keyward, new HonoRequestView(c, config), config.http);
  return outcome instanceof Promise ? outcome.then((o) => settle(config, c, o)) : settle(config, c, outcome);
}

/** Verifies `c`'s key: `undefined` when it passed (`c.get('apiKey')` set), else the error response. */
export function authenticateContext(config: HonoConfig, c: Context): Response | undefined | Promise<Response | undefined> {
  const keyward = config.http.keyward();
  return keyward instanceof Promise ? keyward.then((k) => verified(config, c, k)) : verified(config, c, keyward);
}

/**
 * Hono middleware: verifies the request's API key and puts it in `c.get('apiKey')`, or
 * answers 400/401/403/429/503 exactly per the keyward HTTP table. A key in its rotation
 * grace passes with `Sunset` and `Deprecation` headers. On `@hono/node-server` a
 * keep-alive connection's repeated key skips the hash (the per-connection memo).
 */
export function apiKeyAuth(options?: ApiKeyAuthOptions): ApiKeyAuthMiddleware {
  const config = resolveHonoOptions(options);
  // Not an async function: a cached key is decided without a promise of ours.
  const middleware: MiddlewareHandler<ApiKeyEnv> = (c, next: Next): MiddlewareResult => {
    const refused = authenticateContext(config, c);
    if (refused instanceof Promise) return refused.then((response): MiddlewareResult => (response ? Promise.resolve(response) : next()));
    return refused === undefined ? next() : Promise.resolve(refused);
  };
  return Object.assign(middleware, {
    config,
    requireScopes: (...scopes: string[]) => scopesMiddleware(scopes, config.http, config.onError),
  });
}

function scopesMiddleware(scopes: readonly string[], response: ResponseConfig, onError: HonoErrorHook): MiddlewareHandler<ApiKeyEnv> {
  if (scopes.length === 0 || !scopes.every((s) => typeof s === 'string' && /^[\x21\x23-\x5b\x5d-\x7e]{1,100}$/.test(s))) {
    throw invalidOption('requireScopes', 'needs one or more scope tokens (printable, no spaces or quotes)');
  }
  const required = [...scopes];
  return async (c, next) => {
    const error = scopeError(response, c.get('apiKey') as ValidKey | undefined, required);
    if (error !== undefined) return (await onError(error, c)) as Response;
    await next();
  };
}

/**
 * Per-route scopes after `apiKeyAuth()`: 403 `insufficient_scope` unless `c.get('apiKey')`
 * holds every one (401 when no key was verified). Default realm (`api`); with a custom
 * realm or `onError`, use `auth.requireScopes(...)`.
 */
export function requireScopes(...scopes: string[]): MiddlewareHandler<ApiKeyEnv> {
  return scopesMiddleware(scopes, DEFAULT_RESPONSE_CONFIG, sendError);
}
