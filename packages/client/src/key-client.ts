import { KeyClientError, KeyClientErrorCodes } from './errors.js';
import { Emitter, type KeyClientEventName, type KeyClientListener } from './events.js';
import { KeyHolder } from './key-holder.js';
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
  /** Headers to add to a request made by other means (an undici dispatcher, an SDK). */
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

  const ready = async () => {
    const state = await holder.ready();
    if (stopWatch === undefined && config.store.watch !== undefined) {
      stopWatch = config.store.watch(() => void holder.reload().catch(() => undefined));
    }
    return state;
  };

  const withKey = (request: Request, key: string): Request => {
    const headers = new Headers(request.headers);
    if (config.header === 'authorization') headers.set('authorization', `Bearer ${key}`);
    else headers.set('x-api-key', key);
    return new Request(request, { headers });
  };

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

  const send = async (request: Request, used: StoredKey): Promise<Response> => {
    const response = await config.fetch(withKey(request, used.key));
    if (response.status === 401 || response.status === 403) {
      emitter.emit('key.rejected', { fingerprint: used.fingerprint, status: response.status, code: await errorCode(response) });
    } else {
      holder.accepted(used);
      observe(response, used);
    }
    return response;
  };

  const clientFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    if (new URL(request.url).origin !== config.origin) return config.fetch(request);
    const state = await ready();
    const used = state.current;
    checkGrace(used);
    const spare = request.body === null ? request : request.clone();
    const response = await send(request, used);
    if (response.status !== 401 || (await errorCode(response)) !== EXPIRED) return response;
    // 401 api_key_expired: retry once, only if a newer key is stored (another process rotated).
    const newest = (await holder.reload().catch(() => undefined))?.current;
    if (newest === undefined || newest.key === used.key) return response;
    await response.body?.cancel().catch(() => undefined);
    return send(spare, newest);
  };

  return {
    fetch: clientFetch as typeof fetch,
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
