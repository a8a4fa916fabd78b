import type { StoredKey } from './stores/key-store.js';

/** The options of an undici `dispatch` call (the parts used here). */
export interface DispatchOptions {
  origin?: string | URL;
  headers?: Record<string, string | string[] | undefined> | string[] | null;
  [key: string]: unknown;
}
/** An undici dispatch handler (undici 6 `onHeaders` or undici 7 `onResponseStart`). */
export type DispatchHandler = Record<string, unknown> & { onError?: (error: Error) => void };
export type Dispatch = (options: DispatchOptions, handler: DispatchHandler) => boolean;
/** The undici interceptor shape: `dispatcher.compose(interceptor)`. No undici import needed. */
export type DispatchInterceptor = (dispatch: Dispatch) => Dispatch;

/** What the interceptor needs from the client. */
export interface InterceptorHooks {
  readonly origin: string;
  readonly header: 'authorization' | 'x-api-key';
  /** The key in use, when loaded; throws past its sunset with no successor. */
  current(): StoredKey | undefined;
  /** Loads the key. */
  load(): Promise<StoredKey>;
  /** A response for `used` arrived: Sunset/Deprecation, acceptance, rejection. */
  respond(status: number, headers: Headers, used: StoredKey): void;
}

function withKey(headers: DispatchOptions['headers'], name: string, value: string): DispatchOptions['headers'] {
  if (Array.isArray(headers)) return [...headers, name, value];
  return { ...(headers ?? {}), [name]: value };
}

function rawToHeaders(raw: unknown): Headers {
  const headers = new Headers();
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = String(raw[i]).toLowerCase();
      if (name === 'sunset' || name === 'deprecation' || name === 'content-type') headers.set(name, String(raw[i + 1]));
    }
  } else if (raw !== null && typeof raw === 'object') {
    for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : String(value));
    }
  }
  return headers;
}

/**
 * An undici interceptor that adds the key to requests for the client's origin and
 * reports each response's status and `Sunset`/`Deprecation` to the client (which
 * then rotates as its `fetch` would). It never retries: use the client's `fetch`
 * for the one retry after `api_key_expired`.
 */
export function keyInterceptor(hooks: InterceptorHooks): DispatchInterceptor {
  return (dispatch) => {
    const send = (options: DispatchOptions, handler: DispatchHandler, used: StoredKey): boolean => {
      const value = hooks.header === 'authorization' ? `Bearer ${used.key}` : used.key;
      const onHeaders = handler.onHeaders;
      if (typeof onHeaders === 'function') {
        handler.onHeaders = function (this: unknown, status: number, raw: unknown, ...rest: unknown[]) {
          hooks.respond(status, rawToHeaders(raw), used);
          return onHeaders.call(this, status, raw, ...rest);
        };
      }
      const onResponseStart = handler.onResponseStart;
      if (typeof onResponseStart === 'function') {
        handler.onResponseStart = function (this: unknown, controller: unknown, status: number, headers: unknown, ...rest: unknown[]) {
          hooks.respond(status, rawToHeaders(headers), used);
          return onResponseStart.call(this, controller, status, headers, ...rest);
        };
      }
      return dispatch({ ...options, headers: withKey(options.headers, hooks.header, value) }, handler);
    };
    return (options, handler) => {
      if (options.origin === undefined || new URL(String(options.origin)).origin !== hooks.origin) return dispatch(options, handler);
      let used: StoredKey | undefined;
      try {
        used = hooks.current();
      } catch (error) {
        handler.onError?.(error as Error); // past its sunset with no successor
        return true;
      }
      if (used !== undefined) return send(options, handler, used);
      hooks.load().then(
        (key) => send(options, handler, key),
        (error: Error) => handler.onError?.(error),
      );
      return true;
    };
  };
}
