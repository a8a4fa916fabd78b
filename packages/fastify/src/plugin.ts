import {
  type AuthOutcome,
  authenticate,
  isApiKeyHttpError,
  type Keyward,
  NodeRequestView,
  scopeError,
  selfRotate,
  type ValidKey,
} from '@keyward/core';
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';
import { type ApiKeyAuthOptions, type FastifyConfig, PKG, type RouteApiKeyConfig, resolveFastifyOptions, validScopes } from './options.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified API key (`null` on a route that needs none). Set by the keyward plugin. */
    apiKey: ValidKey | null;
  }
  interface FastifyContextConfig {
    /** `false`: this route needs no key. `{ scopes }`: the key must hold every scope (else 403). */
    apiKey?: RouteApiKeyConfig;
  }
}

/** The route's `config.apiKey`, read from Fastify's per-route options (absent on the 404 route). */
function routeSetting(request: FastifyRequest): RouteApiKeyConfig | undefined {
  return (request.routeOptions.config as { apiKey?: RouteApiKeyConfig } | undefined)?.apiKey;
}

/** Hands an error to the hook; a hook that throws passes the error to Fastify's error handler. */
function refuse(
  config: FastifyConfig,
  error: Parameters<FastifyConfig['onError']>[0],
  request: FastifyRequest,
  reply: FastifyReply,
  done: HookHandlerDoneFunction,
): void {
  let handled: unknown;
  try {
    handled = config.onError(error, request, reply);
  } catch (thrown) {
    done(thrown as Error);
    return;
  }
  if (handled instanceof Promise) handled.catch((thrown: Error) => done(thrown));
}

function settle(
  config: FastifyConfig,
  setting: RouteApiKeyConfig | undefined,
  outcome: AuthOutcome,
  request: FastifyRequest,
  reply: FastifyReply,
  done: HookHandlerDoneFunction,
): void {
  if (!outcome.ok) {
    refuse(config, outcome.error, request, reply, done);
    return;
  }
  request.apiKey = outcome.key;
  if (outcome.headers !== undefined) reply.headers(outcome.headers);
  if (setting !== undefined && setting !== false && setting.scopes !== undefined) {
    const error = scopeError(config.http, outcome.key, setting.scopes);
    if (error !== undefined) {
      refuse(config, error, request, reply, done);
      return;
    }
  }
  done();
}

function verify(
  config: FastifyConfig,
  setting: RouteApiKeyConfig | undefined,
  keyward: Keyward,
  request: FastifyRequest,
  reply: FastifyReply,
  done: HookHandlerDoneFunction,
): void | Promise<void> {
  const outcome = authenticate(keyward, new NodeRequestView(request), config.http);
  if (outcome instanceof Promise) return outcome.then((o) => settle(config, setting, o, request, reply, done));
  settle(config, setting, outcome, request, reply, done);
}

/**
 * The `onRequest` hook: every route needs a key unless it is public (`public` option or
 * `config: { apiKey: false }`). Synchronous when nothing needs I/O (a cached key, an
 * in-memory limiter); Fastify's `request.ip` (its `trustProxy`) is the source address.
 */
function onRequestHook(config: FastifyConfig) {
  return function keywardOnRequest(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    // Read once: Fastify builds `routeOptions` anew on every read.
    const setting = routeSetting(request);
    if (setting === false || config.isPublic(request)) {
      done();
      return;
    }
    let pending: void | Promise<void>;
    try {
      const keyward = config.http.keyward();
      pending =
        keyward instanceof Promise
          ? keyward.then((k) => verify(config, setting, k, request, reply, done))
          : verify(config, setting, keyward, request, reply, done);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (pending instanceof Promise) pending.catch((error: Error) => done(error));
  };
}

function registerRotation(app: FastifyInstance, config: FastifyConfig, path: string): void {
  app.post(path, async (request, reply) => {
    try {
      // Only when `public` matched this path: the hook verified nothing.
      if (request.apiKey === null) throw scopeError(config.http, undefined, []);
      const keyward = await config.http.keyward();
      const result = await selfRotate(keyward, request.apiKey, config.http, {
        idempotencyKey: request.headers['idempotency-key'],
        rawHeaders: request.raw.rawHeaders,
        reissue: request.headers['keyward-reissue'],
      });
      return reply.code(result.status).headers(result.headers).send(result.body);
    } catch (error) {
      if (!isApiKeyHttpError(error)) throw error;
      await config.onError(error, request, reply);
      return reply;
    }
  });
}

const keywardPlugin: FastifyPluginCallback<ApiKeyAuthOptions> = (app, options, done) => {
  let config: FastifyConfig;
  try {
    config = resolveFastifyOptions(options);
  } catch (error) {
    done(error as Error);
    return;
  }
  // A stable request shape: the property exists (null) before the hook sets it.
  app.decorateRequest('apiKey', null);
  // Per-route scopes are checked when the route is declared, not on its first request.
  app.addHook('onRoute', (route) => {
    const setting = (route.config as { apiKey?: unknown } | undefined)?.apiKey;
    if (setting === undefined || setting === false) return;
    const where = `route ${route.method} ${route.url}: config.apiKey`;
    if (typeof setting !== 'object' || setting === null) throw new TypeError(`${PKG}: ${where} must be false or { scopes: [...] }`);
    const { scopes } = setting as { scopes?: unknown };
    if (scopes !== undefined) validScopes(scopes, `${where}.scopes`);
  });
  app.addHook('onRequest', onRequestHook(config));
  if (config.rotationPath !== undefined) registerRotation(app, config, config.rotationPath);
  done();
};

/**
 * The keyward plugin: `app.register(apiKeyAuth, { keyward })`. Every route of the app
 * (the plugin is not encapsulated) answers 400/401/403/429/503 per the keyward HTTP
 * table unless it opts out; a key in its rotation grace passes with `Sunset` and
 * `Deprecation` headers. `request.apiKey` holds the verified key.
 */
export const apiKeyAuth = fp(keywardPlugin, { fastify: '5.x', name: PKG });
