import { KeyClientError, KeyClientErrorCodes } from './errors.js';
import { Emitter, type KeyClientEventName, type KeyClientListener } from './events.js';
import { KeyHolder } from './key-holder.js';
import { type DispatchInterceptor, keyInterceptor } from './key-interceptor.js';
import { type KeyClientOptions, resolveOptions } from './options.js';
import { Rotator } from './rotation/rotator.js';
import { errorCode, rotationSignal } from './rotation/signals.js';
import type { StoredKey } from './stores/key-store.js';

export interface KeyClient {
  /** `fetch` with the key added for requests to `baseUrl`'s origin (others pass through untouched). */
  readonly fetch: typeof fetch;
  /** The key in use now (loaded from the store on first call). */
  currentKey(): Promise<string>;
  /** The fingerprint of the key in use now. */
  currentFingerprint(): Promise<string>;
  /** Rotates now (once per key: concurrent calls share one rotation). Resolves with the new key's fingerprint. */
  rotate(): Promise<string>;
  /**
   * An undici interceptor (`getGlobalDispatcher().compose(client.interceptor)`): adds
   * the key for this origin and reports Sunset/Deprecation. Never retries.
   */
  readonly interceptor: DispatchInterceptor;
  /** Headers to add to a request made by other means (an SDK that takes headers). */
  authHeaders(): Promise<Record<string, string>>;
  on<E extends KeyClientEventName>(event: E, listener: KeyClientListener<E>): () => void;
  /** Stops watching the store. */
  close(): void;
}

const EXPIRED = 'api_key_expired';

/** Builds a client: see the README for the whole rotation story. */
export function createKeyClient(options: KeyClientOptions): KeyClient {
  const config = resolveOptions(options);
  const emitter = new Emitter((error) =>
    config.logger?.warn({ err: error instanceof Error ? error.name : 'error' }, 'A @keyward/client listener threw.'),
  );
  const holder = new KeyHolder(config, emitter);
  const rotator = new Rotator(config, holder, emitter);
  let stopWatch: (() => void) | undefined;
  let loaded = false;

  const ready = async () => {
    // Watch before the first load: a key written between the load and the watch would
    // otherwise go unseen until the next change (seen on a loaded machine: an operator's
    // new key put in the file while this process started stayed unadopted).
    const watching = stopWatch === undefined && config.store.watch !== undefined;
    if (watching && config.store.watch !== undefined) stopWatch = config.store.watch(() => void holder.reload().catch(() => undefined));
    const state = await holder.ready();
    loaded = true;
    return state;
  };

  const keyHeader = config.header;
  const keyValue = (key: string) => (keyHeader === 'authorization' ? `Bearer ${key}` : key);
  /** The caller's headers plus the key (a plain object when there were none: the cheap path). */
  const headersWith = (headers: RequestInit['headers'], key: string): NonNullable<RequestInit['headers']> => {
    if (headers === undefined) return { [keyHeader]: keyValue(key) };
    const merged = new Headers(headers);
    merged.set(keyHeader, keyValue(key));
    return merged;
  };
  const prefix = `${config.origin}/`;
  const sameOrigin = (url: string) =>
    url.startsWith(prefix) || url === config.origin || (URL.canParse(url) && new URL(url).origin === config.origin);

  /** Before sending: a key past its sunset with no successor fails here, saying what to do. */
  const checkGrace = (key: StoredKey) => {
    const sunset = holder.sunsetOf(key.fingerprint);
    if (sunset === undefined || config.clock.now() < sunset) return;
    const last = rotator.lastFailure;
    throw new KeyClientError(
      KeyClientErrorCodes.KEY_EXPIRED,
      `the API key ${key.fingerprint} passed its sunset (${new Date(sunset).toISOString()}) and no successor could be obtained` +
        `${last === undefined ? '' : ` (last attempt: ${last.message.replace('@keyward/client: ', '')})`}. ` +
        `Check that ${config.rotateUrl} is reachable, or put a new key in the key store.`,
    );
  };

  /** After a response: Sunset/Deprecation or a near expiry starts a rotation in the background. */
  const observe = (response: Response, used: StoredKey) => {
    if (holder.current?.key !== used.key) return;
    const signal = rotationSignal(response.headers);
    if (signal?.sunsetAt !== undefined) holder.noteSunset(used.fingerprint, signal.sunsetAt);
    const expiresAt = used.expiresAt === null ? Number.NaN : Date.parse(used.expiresAt);
    const nearExpiry = Number.isFinite(expiresAt) && expiresAt - config.clock.now() <= config.rotateBefore;
    if (signal !== undefined || nearExpiry) rotator.trigger(used);
  };

  /** Synchronous on success (the hot path); reads the error code only of a 401/403. */
  const react = (response: Response, used: StoredKey): Promise<void> | undefined => {
    if (response.status !== 401 && response.status !== 403) {
      holder.accepted(used);
      observe(response, used);
      return undefined;
    }
    return errorCode(response).then((code) =>
      emitter.emit('key.rejected', { fingerprint: used.fingerprint, status: response.status, code }),
    );
  };

  /** 401 `api_key_expired`: the newest stored key when it differs from `used` (another process rotated), else `undefined`. */
  const newerAfterExpired = async (response: Response, used: StoredKey): Promise<StoredKey | undefined> => {
    if (response.status !== 401 || (await errorCode(response)) !== EXPIRED) return undefined;
    const newest = (await holder.reload().catch(() => undefined))?.current;
    if (newest === undefined || newest.key === used.key) return undefined;
    await response.body?.cancel().catch(() => undefined);
    return newest;
  };

  /** `fetch(url, init)`: no Request object is built (the hot path). */
  const fetchUrl = async (url: string, input: string | URL, init: RequestInit | undefined): Promise<Response> => {
    if (!sameOrigin(url)) return config.fetch(input, init);
    const used = (loaded ? holder.current : undefined) ?? (await ready()).current;
    checkGrace(used);
    const response = await config.fetch(input, { ...init, headers: headersWith(init?.headers, used.key) });
    await react(response, used);
    // Retried once, only with a body that can be sent again (not a stream).
    if (response.status !== 401 || init?.body instanceof ReadableStream) return response;
    const newest = await newerAfterExpired(response, used);
    if (newest === undefined) return response;
    const retried = await config.fetch(input, { ...init, headers: headersWith(init?.headers, newest.key) });
    await react(retried, newest);
    return retried;
  };

  /** `fetch(request)`: a clone is kept for the one retry when the request has a body. */
  const fetchRequest = async (input: Request, init: RequestInit | undefined): Promise<Response> => {
    const request = init === undefined ? input : new Request(input, init);
    if (!sameOrigin(request.url)) return config.fetch(request);
    const used = (await ready()).current;
    checkGrace(used);
    const spare = request.body === null ? request : request.clone();
    const response = await config.fetch(new Request(request, { headers: headersWith(request.headers, used.key) }));
    await react(response, used);
    const newest = await newerAfterExpired(response, used);
    if (newest === undefined) return response;
    const retried = await config.fetch(new Request(spare, { headers: headersWith(spare.headers, newest.key) }));
    await react(retried, newest);
    return retried;
  };

  const clientFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (input instanceof Request) return fetchRequest(input, init);
    return fetchUrl(typeof input === 'string' ? input : input.href, input, init);
  };

  const interceptor = keyInterceptor({
    origin: config.origin,
    header: config.header,
    current: () => {
      const used = loaded ? holder.current : undefined;
      if (used !== undefined) checkGrace(used);
      return used;
    },
    load: async () => {
      const used = (await ready()).current;
      checkGrace(used);
      return used;
    },
    respond: (status, headers, used) => {
      if (status === 401 || status === 403) emitter.emit('key.rejected', { fingerprint: used.fingerprint, status, code: undefined });
      else {
        holder.accepted(used);
        observe({ headers } as Response, used);
      }
    },
  });

  return {
    fetch: clientFetch as typeof fetch,
    interceptor,
    currentKey: async () => (await ready()).current.key,
    currentFingerprint: async () => (await ready()).current.fingerprint,
    rotate: async () => {
      const state = await ready();
      return (await rotator.rotate(state.current)).fingerprint;
    },
    authHeaders: async (): Promise<Record<string, string>> => {
      const { current } = await ready();
      checkGrace(current);
      return config.header === 'authorization' ? { authorization: `Bearer ${current.key}` } : { 'x-api-key': current.key };
    },
    on: (event, listener) => emitter.on(event, listener),
    close: () => {
      stopWatch?.();
      stopWatch = undefined;
    },
  };
}
