import { AUTHORIZATION, repeatedValues } from './raw-headers.js';

/** Request headers as Node (and every framework on it) exposes them: lower-case names. */
export type HttpHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * What an adapter hands to the core: the parts of a request keyward reads. Any of
 * them may be a getter: `path` and `ip` are read only when needed (a counted failure,
 * a limiter with something counted, an event), so an adapter passes a lazy view and
 * a request with a good cached key never pays for resolving them.
 */
export interface HttpRequestLike {
  readonly headers: HttpHeaders;
  /**
   * The headers as received (Node's `req.rawHeaders`: name, value, name, value, …).
   * Node keeps only the first of several `Authorization` headers; with this, two
   * different keys in two `Authorization` headers are a 400, not the first key.
   * Read only when an `Authorization` header is present; leave it out where the
   * framework gives no such list.
   */
  readonly rawHeaders?: readonly string[] | undefined;
  readonly method?: string | undefined;
  /** Path without the query string (it goes into `key.rejected` events). */
  readonly path?: string | undefined;
  /** The client address as the framework resolved it (honouring its trusted-proxy setting). */
  readonly ip?: string | undefined;
  /**
   * The request's connection (`req.socket`): lets a keep-alive client's repeated key
   * skip the hash (see the `lru.perConnection` option). Any object that lives as long
   * as the connection will do; leave it out to hash every request.
   */
  readonly connection?: object | undefined;
}

/** A custom extractor: the presented key, or `undefined`/`null` when the request carries none. */
export type KeyExtractor = (request: HttpRequestLike) => string | null | undefined;

/** Why a request's credentials were refused as ambiguous or malformed (a 400, never a guess). */
export class MalformedCredentials {
  constructor(readonly message: string) {
    Object.freeze(this);
  }
}

export const TWO_KEYS = new MalformedCredentials('The request presents two different API keys.');
export const TOO_LONG = new MalformedCredentials('The credentials header is too long.');
export const EMPTY_BEARER = new MalformedCredentials('The Authorization header has an empty Bearer token.');
export const NOT_BEARER = new MalformedCredentials('The Authorization header must use the Bearer scheme.');
export const EMPTY_KEY = new MalformedCredentials('The API key header is empty.');
export const BAD_SYNTAX = new MalformedCredentials('The credentials header is malformed (one key, no spaces or commas).');

/** The resolved extraction rules. */
export interface ExtractionConfig {
  /** Accept `Authorization: Bearer <key>`. */
  readonly bearer: boolean;
  /** Lower-case name of the header carrying the bare key, or `undefined` for none. */
  readonly header: string | undefined;
  readonly maxLength: number;
  readonly extract: KeyExtractor | undefined;
}

/** One printable token without spaces or commas: the common case, checked with one regex. */
const SIMPLE = /^[\x21-\x2b\x2d-\x7e]+$/;

function single(values: string | readonly string[], maxLength: number): string | MalformedCredentials {
  if (typeof values === 'string') {
    if (values.length > maxLength) return TOO_LONG;
    if (SIMPLE.test(values)) return values;
  }
  const all = typeof values === 'string' ? [values] : values;
  let found: string | undefined;
  let total = 0;
  for (const value of all) {
    total += value.length;
    if (total > maxLength) return TOO_LONG;
    for (const part of value.split(',')) {
      const token = part.trim();
      if (token === '') return EMPTY_KEY;
      if (!SIMPLE.test(token)) return BAD_SYNTAX;
      if (found !== undefined && found !== token) return TWO_KEYS;
      found = token;
    }
  }
  return found ?? EMPTY_KEY;
}

function bearer(value: string | readonly string[], maxLength: number): string | MalformedCredentials {
  if (typeof value !== 'string') {
    // Several Authorization headers: each must be a good Bearer value, all of the same key.
    let found: string | undefined;
    let total = 0;
    for (const one of value) {
      total += one.length;
      if (total > maxLength) return TOO_LONG;
      const key = bearer(one, maxLength);
      if (typeof key !== 'string') return key;
      if (found !== undefined && found !== key) return TWO_KEYS;
      found = key;
    }
    return found ?? EMPTY_BEARER;
  }
  if (value.length > maxLength) return TOO_LONG;
  // The common case first: exactly `Bearer <token>` (Node has already stripped the
  // value's outer whitespace), one slice and one regex test.
  if (value.startsWith('Bearer ') && value.charCodeAt(7) !== 32) {
    const token = value.slice(7);
    if (SIMPLE.test(token)) return token;
  }
  const trimmed = value.trim();
  const space = trimmed.indexOf(' ');
  const scheme = space === -1 ? trimmed : trimmed.slice(0, space);
  if (scheme.toLowerCase() !== 'bearer') return trimmed === '' ? EMPTY_BEARER : NOT_BEARER;
  const token = space === -1 ? '' : trimmed.slice(space + 1).trim();
  if (token === '') return EMPTY_BEARER;
  return SIMPLE.test(token) ? token : BAD_SYNTAX;
}

/**
 * Finds the presented key: `Authorization: Bearer <key>` and/or the key header
 * (`X-API-Key`), or a custom extractor. Returns the key, `undefined` when none is
 * presented, or a `MalformedCredentials` for ambiguous input: two different keys
 * (in both headers, or in two `Authorization` headers as `rawHeaders` shows them;
 * the same key twice is fine), an empty Bearer, another Authorization
 * scheme, a header longer than `maxLength`. Nothing is guessed.
 */
export function extractKey(request: HttpRequestLike, config: ExtractionConfig): string | undefined | MalformedCredentials {
  if (config.extract !== undefined) {
    const key = config.extract(request);
    if (key === undefined || key === null) return undefined;
    if (typeof key !== 'string' || key === '') return EMPTY_KEY;
    return key.length > config.maxLength ? TOO_LONG : key;
  }
  const { headers } = request;
  let found: string | undefined;
  if (config.bearer) {
    const authorization = headers.authorization;
    if (authorization !== undefined) {
      // Node drops every Authorization header after the first: the raw list has them all.
      const key = bearer(repeatedValues(request.rawHeaders, AUTHORIZATION) ?? authorization, config.maxLength);
      if (typeof key !== 'string') return key;
      found = key;
    }
  }
  if (config.header !== undefined) {
    const raw = headers[config.header];
    if (raw !== undefined) {
      const key = single(raw, config.maxLength);
      if (typeof key !== 'string') return key;
      if (found !== undefined && found !== key) return TWO_KEYS;
      found = key;
    }
  }
  return found;
}
