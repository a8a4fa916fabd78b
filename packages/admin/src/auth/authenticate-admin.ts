import type { IncomingMessage } from 'node:http';
import type { AdminConfig } from '../options.js';
import type { AdminKeys } from './admin-keys.js';
import { ADMIN_SCOPES, type AdminPrincipal } from './principal.js';
import { SESSION_COOKIE, type SessionStore } from './sessions.js';

export type AdminAuth =
  | { readonly ok: true; readonly principal: AdminPrincipal; readonly via: 'authorize' | 'bearer' | 'session' | 'loopback' }
  /** `login`: no credentials (a browser goes to the login page); `invalid`: credentials that were refused; `loopback-only`: an unconfigured console seen from another machine. */
  | { readonly ok: false; readonly why: 'login' | 'invalid' | 'loopback-only' };

const LOOPBACK: AdminPrincipal = { actor: 'loopback', scopes: ADMIN_SCOPES };

/**
 * Who is asking, deny by default: the `authorize` hook, then a Bearer admin key, then
 * a session cookie. With neither `authorize` nor admin keys configured, only
 * loopback connections are served (as `loopback`, with both scopes).
 */
export async function authenticateAdmin(
  req: IncomingMessage,
  cookies: ReadonlyMap<string, string>,
  config: AdminConfig,
  adminKeys: AdminKeys | undefined,
  sessions: SessionStore,
  loopback: boolean,
): Promise<AdminAuth> {
  if (config.authorize) {
    const principal = await config.authorize(req);
    if (principal) return { ok: true, principal: checked(principal), via: 'authorize' };
  }
  if (adminKeys) {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^bearer\s+(\S+)\s*$/i.exec(header);
      const principal = match ? await adminKeys.principalOf(match[1] as string) : null;
      return principal ? { ok: true, principal, via: 'bearer' } : { ok: false, why: 'invalid' };
    }
    const cookie = cookies.get(SESSION_COOKIE);
    const keyId = sessions.keyIdOf(cookie);
    if (keyId !== null) {
      const principal = await adminKeys.principalOfKeyId(keyId);
      if (principal) return { ok: true, principal, via: 'session' };
      sessions.endAllOf(keyId);
    }
    return { ok: false, why: 'login' };
  }
  if (config.authorize) return { ok: false, why: 'invalid' };
  return loopback ? { ok: true, principal: LOOPBACK, via: 'loopback' } : { ok: false, why: 'loopback-only' };
}

function checked(principal: AdminPrincipal): AdminPrincipal {
  if (typeof principal.actor !== 'string' || principal.actor.length === 0 || !Array.isArray(principal.scopes)) {
    throw new TypeError('keywardAdmin: authorize must return { actor: string, scopes: string[] } or null');
  }
  return principal;
}
