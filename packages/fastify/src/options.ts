import { ErrorCodes, type HttpAuthConfig, type HttpAuthOptions, KeywardError, type OnErrorHook, resolveHttpOptions } from '@keyward/core';
import { defaultAttemptLimiter, defaultKeyward } from '@keyward/env';
import type { FastifyReply, FastifyRequest } from 'fastify';

export const PKG = '@keyward/fastify';

export type FastifyErrorHook = OnErrorHook<[request: FastifyRequest, reply: FastifyReply]>;

/** Options of the plugin: the shared `HttpAuthOptions` (see `@keyward/core`) plus Fastify's parts. */
export interface ApiKeyAuthOptions extends HttpAuthOptions {
  /**
   * Takes over an error response (400, 401, 403, 429, 503). Default: answer with the
   * error's status, headers and JSON body `{ error, message }`. Throw the error (or
   * return a rejected promise) to hand it to Fastify's error handler instead: it
   * carries `statusCode`-compatible `status` and `headers`.
   */
  onError?: FastifyErrorHook;
  /**
   * Paths (without the query string, compared exactly) or a predicate for requests that
   * need no key: health checks, public docs. Per route, `config: { apiKey: false }` does the same.
   */
  public?: readonly string[] | ((request: FastifyRequest) => boolean);
  /**
   * Registers the self-service rotation route: `true` for `POST /api-keys/rotate`,
   * or `{ path }`. Default: off.
   */
  rotation?: boolean | { readonly path?: string };
}

/** Per-route setting in `config.apiKey`: `false` (no key needed) or the scopes the key must hold. */
export type RouteApiKeyConfig = false | { readonly scopes?: readonly string[] };

export interface FastifyConfig {
  readonly http: HttpAuthConfig;
  readonly onError: FastifyErrorHook;
  readonly isPublic: (request: FastifyRequest) => boolean;
  /** The rotation route's path, or `undefined` when it is off. */
  readonly rotationPath: string | undefined;
}

/** Writes a keyward error as the response: status, headers, JSON `{ error, message }`. */
export const sendError: FastifyErrorHook = (error, _request, reply) => {
  reply.code(error.status).headers(error.headers).send(error.body);
};

export function invalidOption(option: string, expected: string): KeywardError {
  return new KeywardError(ErrorCodes.INVALID_OPTION, `${PKG}: option "${option}" ${expected}`, { option });
}

const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,100}$/;

/** Validates scope tokens (printable, no spaces or quotes), naming `option` when one is bad. */
export function validScopes(scopes: unknown, option: string): readonly string[] {
  if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s) => typeof s === 'string' && SCOPE.test(s))) {
    throw invalidOption(option, `needs one or more scope tokens (printable, no spaces or quotes); got ${JSON.stringify(scopes)}`);
  }
  return Object.freeze([...scopes]);
}

function pathWithoutQuery(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function resolvePublic(option: ApiKeyAuthOptions['public']): (request: FastifyRequest) => boolean {
  if (option === undefined) return () => false;
  if (typeof option === 'function') return option;
  if (!Array.isArray(option) || !option.every((p) => typeof p === 'string' && p.startsWith('/'))) {
    throw invalidOption('public', 'must be an array of paths starting with "/" or a function (request) => boolean');
  }
  const paths = new Set(option);
  return (request) => paths.has(pathWithoutQuery(request.url));
}

function resolveRotation(option: ApiKeyAuthOptions['rotation']): string | undefined {
  if (option === undefined || option === false) return undefined;
  if (option === true) return '/api-keys/rotate';
  if (typeof option !== 'object' || option === null) throw invalidOption('rotation', 'must be a boolean or { path }');
  const { path = '/api-keys/rotate' } = option;
  if (typeof path !== 'string' || !path.startsWith('/')) throw invalidOption('rotation.path', 'must be a path starting with "/"');
  return path;
}

/** Validates the options (never mutating them); the zero-config default comes from `@keyward/env`. */
export function resolveFastifyOptions(options: ApiKeyAuthOptions = {}): FastifyConfig {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'must be an object');
  // `prefix`, `logLevel` and `logSerializers` are Fastify's own register options.
  const {
    onError,
    public: publicOption,
    rotation,
    prefix: _p,
    logLevel: _l,
    logSerializers: _s,
    ...http
  } = options as ApiKeyAuthOptions & Record<'prefix' | 'logLevel' | 'logSerializers', unknown>;
  if (onError !== undefined && typeof onError !== 'function') throw invalidOption('onError', 'must be a function (error, request, reply)');
  return {
    http: resolveHttpOptions(http, { packageName: PKG, keyward: defaultKeyward, limiter: defaultAttemptLimiter }),
    onError: onError ?? sendError,
    isPublic: resolvePublic(publicOption),
    rotationPath: resolveRotation(rotation),
  };
}
