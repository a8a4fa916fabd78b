import { type Registry, register, validateMetricName } from 'prom-client';
import { type Duration, invalidOptionFor, type KeyStore, type Keyward, parseDuration, type Scheduler } from './core.js';

export interface MetricsOptions {
  /** Registry the metrics go to. Default: prom-client's global `register` (what `/metrics` usually serves). */
  registry?: Registry;
  /** Prefix of every metric name. Default `keyward_`. */
  prefix?: string;
  /** Store to count keys by status on scrape. Default: the keyward instance's store. */
  store?: KeyStore;
  /** Scheduler whose passes and failed deliveries to count. Default: none (those metrics stay at 0). */
  scheduler?: Scheduler;
  /**
   * The key count (a store query) is reused for this long between scrapes, so a
   * scraper polling every second does not scan the keys table every second. Default `30s`.
   */
  keyCountCacheTtl?: Duration;
}

export interface MetricsConfig {
  readonly registry: Registry;
  readonly prefix: string;
  readonly store: KeyStore;
  readonly scheduler: Scheduler | undefined;
  readonly keyCountCacheTtlMs: number;
}

/** Validates the options (never mutates them); errors name the package, option and value. */
export function resolveMetricsOptions(keyward: Keyward, options: MetricsOptions = {}): MetricsConfig {
  if (typeof options !== 'object' || options === null) throw invalidOptionFor('options', options, 'must be an object');
  if (typeof keyward !== 'object' || keyward === null || typeof keyward.on !== 'function') {
    throw invalidOptionFor('keyward', keyward, 'must be a Keyward instance');
  }
  const prefix = options.prefix ?? 'keyward_';
  if (typeof prefix !== 'string' || (prefix !== '' && !validateMetricName(`${prefix}x`))) {
    throw invalidOptionFor('prefix', prefix, 'must be a valid metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)');
  }
  const registry = options.registry ?? register;
  if (typeof registry !== 'object' || registry === null || typeof registry.registerMetric !== 'function') {
    throw invalidOptionFor('registry', registry, 'must be a prom-client Registry');
  }
  const store = options.store ?? keyward.store;
  if (typeof store !== 'object' || store === null || typeof store.listKeys !== 'function') {
    throw invalidOptionFor('store', store, 'must be a KeyStore');
  }
  const { scheduler } = options;
  if (scheduler !== undefined && (typeof scheduler !== 'object' || scheduler === null || typeof scheduler.on !== 'function')) {
    throw invalidOptionFor('scheduler', scheduler, 'must be a Scheduler');
  }
  return { registry, prefix, store, scheduler, keyCountCacheTtlMs: parseDuration(options.keyCountCacheTtl ?? '30s', 'keyCountCacheTtl') };
}
