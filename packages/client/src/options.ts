import { type Clock, systemClock } from './clock.js';
import { invalidOption } from './errors.js';
import type { KeyStore } from './stores/key-store.js';

/** Logger in pino's argument order. Only fingerprints are ever passed to it. */
export interface KeyClientLogger {
  warn(object: Record<string, unknown>, message: string): void;
}

export interface KeyClientOptions {
  /** The API's origin (and optional base path), e.g. `https://api.example.com`. The key is only ever sent to this origin. */
  baseUrl: string | URL;
  /** Where the key lives: `FileStore`, `EnvStore` (read-only), `FileSinkStore` (server-pushed) or your own. */
  store: KeyStore;
  /** Path of the self-rotation endpoint, relative to `baseUrl`. Default `/api-keys/rotate`. */
  rotatePath?: string;
  /** Rotate when the key's known `expiresAt` is this close (milliseconds). Default 3 days. */
  rotateBefore?: number;
  /** How the key is sent: `authorization` (`Bearer <key>`) or `x-api-key`. Default `authorization`. */
  header?: 'authorization' | 'x-api-key';
  /** The fetch to wrap. Default the global `fetch`. */
  fetch?: typeof fetch;
  /** Time source. Default the system clock. */
  clock?: Clock;
  /** First wait after a failed rotation (milliseconds); doubles per failure. Default `1000`. */
  backoffInitial?: number;
  /** Longest wait between rotation attempts (milliseconds). Default `60000`. */
  backoffMax?: number;
  /** Timeout of one rotation call (milliseconds). Default `10000`. */
  rotateTimeout?: number;
  /** How long a process waits for another process holding the rotation lock (milliseconds). Default `10000`. */
  lockWait?: number;
  /** Warnings (a listener that threw, a read-only key nearing its end). Default none. */
  logger?: KeyClientLogger;
}

/** The resolved options. */
export interface KeyClientConfig {
  readonly origin: string;
  readonly rotateUrl: string;
  readonly store: KeyStore;
  readonly rotateBefore: number;
  readonly header: 'authorization' | 'x-api-key';
  readonly fetch: typeof fetch;
  readonly clock: Clock;
  readonly backoffInitial: number;
  readonly backoffMax: number;
  readonly rotateTimeout: number;
  readonly lockWait: number;
  readonly logger: KeyClientLogger | undefined;
}

function positive(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw invalidOption(name, v, allowZero ? 'a number of milliseconds ≥ 0' : 'a positive number of milliseconds');
  }
  return v;
}

/** Validates the options (throwing with the option and the value) and never mutates them. */
export function resolveOptions(options: KeyClientOptions): KeyClientConfig {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', options, 'an object');
  let base: URL;
  try {
    base = new URL(String(options.baseUrl));
  } catch {
    throw invalidOption('baseUrl', options.baseUrl, 'an absolute http(s) URL');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw invalidOption('baseUrl', options.baseUrl, 'an absolute http(s) URL');
  const store = options.store;
  if (typeof store !== 'object' || store === null || typeof store.load !== 'function' || typeof store.save !== 'function') {
    throw invalidOption('store', store, 'a KeyStore (load, save)');
  }
  const rotatePath = options.rotatePath ?? '/api-keys/rotate';
  if (typeof rotatePath !== 'string' || !rotatePath.startsWith('/'))
    throw invalidOption('rotatePath', rotatePath, 'a path starting with "/"');
  const header = options.header ?? 'authorization';
  if (header !== 'authorization' && header !== 'x-api-key') throw invalidOption('header', header, '"authorization" or "x-api-key"');
  const fetchFn = options.fetch ?? globalThis.fetch;
  if (typeof fetchFn !== 'function') throw invalidOption('fetch', fetchFn, 'a fetch function');
  const backoffInitial = positive('backoffInitial', options.backoffInitial, 1000);
  const backoffMax = positive('backoffMax', options.backoffMax, 60_000);
  if (backoffMax < backoffInitial) throw invalidOption('backoffMax', backoffMax, `at least backoffInitial (${backoffInitial})`);
  const basePath = base.pathname.replace(/\/+$/, '');
  return {
    origin: base.origin,
    rotateUrl: `${base.origin}${basePath}${rotatePath}`,
    store,
    rotateBefore: positive('rotateBefore', options.rotateBefore, 3 * 24 * 3600_000, true),
    header,
    fetch: fetchFn,
    clock: options.clock ?? systemClock,
    backoffInitial,
    backoffMax,
    rotateTimeout: positive('rotateTimeout', options.rotateTimeout, 10_000),
    lockWait: positive('lockWait', options.lockWait, 10_000),
    logger: options.logger,
  };
}
