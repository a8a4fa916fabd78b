import { type IssuedKey, type KeyRecord, Keyward } from '@keyward/core';
import type { AdminPrincipal } from './principal.js';

/** Admin keys belong to clients named `keyward-admin:<name>`. */
export const ADMIN_CLIENT_PREFIX = 'keyward-admin:';

/**
 * Admin keys, verified by keyward itself: a second `Keyward` over the same store that
 * accepts only the admin prefix, as the API's own instance accepts only its prefix.
 * So an admin key is refused by the API (wrong prefix, no lookup), and an API key is
 * refused here. Its LRU keeps an entry for 1 s: a revoked admin key stops working
 * within a second, without Redis or the change log.
 */
export class AdminKeys {
  readonly keyward: Keyward;

  constructor(api: Keyward, prefix: string) {
    const { config } = api;
    this.keyward = new Keyward({
      store: config.store,
      prefix,
      clock: config.clock,
      logger: config.logger,
      ...(config.pepper === undefined ? {} : { pepper: config.pepper }),
      lru: { maxAge: '1s', perConnection: false },
      changes: { interval: false },
      knownKeys: { filter: false },
      usageCounts: false,
      keyLifetime: null,
    });
  }

  /** The principal of a presented admin key, or `null` when it is not a valid admin key. */
  async principalOf(key: string): Promise<AdminPrincipal | null> {
    return (await this.verify(key))?.principal ?? null;
  }

  /** A presented admin key: its principal, id and fingerprint (a login keeps the id), or `null`. */
  async verify(key: string): Promise<{ principal: AdminPrincipal; keyId: string; fingerprint: string } | null> {
    const result = await this.keyward.verify(key);
    if (!result.valid) {
      // An outage is never "not an admin": the caller answers 503, not a login page.
      if (result.reason === 'unavailable') throw new AdminUnavailableError();
      return null;
    }
    const principal = principalFor(result.clientId, result.scopes);
    return principal ? { principal, keyId: result.keyId, fingerprint: result.fingerprint } : null;
  }

  /** The principal behind a session, re-read from the store: `null` once the key is revoked, retired or expired. */
  async principalOfKeyId(keyId: string): Promise<AdminPrincipal | null> {
    const record = await this.keyward.store.findKeyById(keyId);
    if (!record || !accepted(record, this.keyward.config.clock.now())) return null;
    return principalFor(record.clientId, record.scopes);
  }

  /** Issues an admin key for `name` (shown once). `write: false` gives a read-only key. */
  issue(name: string, options: { write: boolean; actor?: string }): Promise<IssuedKey> {
    return this.keyward.issue(`${ADMIN_CLIENT_PREFIX}${name}`, {
      scopes: options.write ? ['keyward:read', 'keyward:write'] : ['keyward:read'],
      ttl: null,
      actor: options.actor ?? 'keyward-admin',
      reason: 'admin key',
    });
  }

  close(): Promise<void> {
    return this.keyward.close();
  }
}

function accepted(record: KeyRecord, now: number): boolean {
  if (record.status !== 'active' && record.status !== 'pending') return false;
  if (record.expiresAt !== null && record.expiresAt <= now) return false;
  return record.graceUntil === null || record.graceUntil > now;
}

function principalFor(clientId: string, scopes: readonly string[]): AdminPrincipal | null {
  if (!clientId.startsWith(ADMIN_CLIENT_PREFIX)) return null;
  if (!scopes.includes('keyward:read') && !scopes.includes('keyward:write')) return null;
  return { actor: `admin:${clientId.slice(ADMIN_CLIENT_PREFIX.length)}`, scopes };
}

/** The store could not be reached to check an admin key or session. */
export class AdminUnavailableError extends Error {
  constructor() {
    super('keyward admin: the key store is unavailable');
  }
}
