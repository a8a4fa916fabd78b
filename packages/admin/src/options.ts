import type { IncomingMessage } from 'node:http';
import { type Duration, ErrorCodes, type Keyward, KeywardError, parseDuration } from '@keyward/core';
import type { AdminPrincipal } from './auth/principal.js';

export interface KeywardAdminOptions {
  /** The keyward instance whose keys the console manages. */
  keyward: Keyward;
  /**
   * Who may use the console: return `{ actor, scopes }` (scopes `keyward:read` and/or
   * `keyward:write`) for a request you have authenticated (your SSO, mTLS, a reverse
   * proxy header you trust), or `null`. Checked before admin keys.
   */
  authorize?: (req: IncomingMessage) => AdminPrincipal | null | Promise<AdminPrincipal | null>;
  /**
   * Admin keys: keyward keys with the scopes `keyward:read` / `keyward:write`, issued
   * with their own prefix so that the ordinary API (which accepts only its own prefix)
   * never accepts them. `true` for the default prefix `kwadmin`. Operators log in by
   * pasting one; Bearer API calls present one.
   */
  adminKeys?: boolean | { prefix?: string };
  /** How long a browser session lasts without use. Default `8h`. */
  sessionTtl?: Duration;
  /** "Expiring" on the overview and the clients filter: keys that expire within this. Default `7d`. */
  rotateBefore?: Duration;
  /**
   * Trust `X-Forwarded-Proto` for "is this HTTPS?" (the session cookie is `Secure` on
   * HTTPS). Only behind a proxy that sets it. Default `false`.
   */
  trustProxy?: boolean;
  /** Shown in the page title. Default `keyward`. */
  title?: string;
}

export interface AdminConfig {
  keyward: Keyward;
  authorize: KeywardAdminOptions['authorize'];
  adminKeyPrefix: string | null;
  sessionTtlMs: number;
  rotateBeforeMs: number;
  trustProxy: boolean;
  title: string;
}

function invalid(option: string, value: unknown, why: string): KeywardError {
  // A long string might be a key pasted into the wrong option: name its length, never echo it.
  const shown =
    typeof value === 'string' && value.length > 40 ? `a ${value.length}-character string` : (JSON.stringify(value) ?? String(value));
  return new KeywardError(ErrorCodes.INVALID_OPTION, `@keyward/admin: option "${option}" ${why}; got ${shown}`, { option });
}

const PREFIX = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

export function resolveAdminOptions(options: KeywardAdminOptions): AdminConfig {
  if (typeof options !== 'object' || options === null) throw invalid('options', options, 'must be an object');
  const { keyward } = options;
  if (typeof keyward !== 'object' || keyward === null || typeof keyward.verify !== 'function' || keyward.store === undefined) {
    throw invalid('keyward', typeof keyward, 'must be a Keyward instance');
  }
  if (options.authorize !== undefined && typeof options.authorize !== 'function') {
    throw invalid('authorize', typeof options.authorize, 'must be a function (req) => { actor, scopes } | null');
  }
  let adminKeyPrefix: string | null = null;
  const adminKeys = options.adminKeys;
  if (adminKeys === true) adminKeyPrefix = 'kwadmin';
  else if (typeof adminKeys === 'object' && adminKeys !== null) adminKeyPrefix = adminKeys.prefix ?? 'kwadmin';
  else if (adminKeys !== undefined && adminKeys !== false) throw invalid('adminKeys', adminKeys, 'must be a boolean or { prefix }');
  if (adminKeyPrefix !== null) {
    if (!PREFIX.test(adminKeyPrefix) || adminKeyPrefix.length > 32)
      throw invalid('adminKeys.prefix', adminKeyPrefix, 'must be a key prefix');
    if (adminKeyPrefix === keyward.config.prefix) {
      throw invalid('adminKeys.prefix', adminKeyPrefix, "must differ from the API's own prefix, or the API would accept admin keys");
    }
  }
  const sessionTtlMs = parseDuration(options.sessionTtl ?? '8h', 'sessionTtl');
  if (sessionTtlMs < 60_000) throw invalid('sessionTtl', options.sessionTtl, 'must be at least 1m');
  const rotateBeforeMs = parseDuration(options.rotateBefore ?? '7d', 'rotateBefore');
  if (options.trustProxy !== undefined && typeof options.trustProxy !== 'boolean')
    throw invalid('trustProxy', options.trustProxy, 'must be a boolean');
  const title = options.title ?? 'keyward';
  if (typeof title !== 'string' || title.length === 0 || title.length > 80)
    throw invalid('title', title, 'must be a string of 1 to 80 characters');
  return {
    keyward,
    authorize: options.authorize,
    adminKeyPrefix,
    sessionTtlMs,
    rotateBeforeMs,
    trustProxy: options.trustProxy ?? false,
    title,
  };
}
