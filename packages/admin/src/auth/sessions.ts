import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '@keyward/core';

export const SESSION_COOKIE = 'keyward_admin_session';

interface Session {
  readonly keyId: string;
  expiresAt: number;
}

/**
 * Browser sessions after an admin key login. The cookie holds a random session id,
 * never the key; this map holds the id's SHA-256 (a memory dump does not yield a live
 * cookie) and the admin key's id, which is re-checked against the store on every
 * request, so revoking the key ends its sessions at once. Sessions live in this
 * process: several processes need sticky sessions, or the `authorize` hook.
 */
export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /** Starts a session for an admin key; returns the cookie value. */
  create(keyId: string): string {
    this.sweep();
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(digest(id), { keyId, expiresAt: this.clock.now() + this.ttlMs });
    return id;
  }

  /** The admin key id of a live session (sliding expiry), or `null`. */
  keyIdOf(cookie: string | undefined): string | null {
    if (cookie === undefined || cookie.length !== 43) return null;
    const id = digest(cookie);
    const session = this.sessions.get(id);
    if (!session) return null;
    const now = this.clock.now();
    if (session.expiresAt <= now) {
      this.sessions.delete(id);
      return null;
    }
    session.expiresAt = now + this.ttlMs;
    return session.keyId;
  }

  end(cookie: string | undefined): void {
    if (cookie !== undefined) this.sessions.delete(digest(cookie));
  }

  /** Ends every session of an admin key (it was revoked or retired). */
  endAllOf(keyId: string): void {
    for (const [id, s] of this.sessions) if (s.keyId === keyId) this.sessions.delete(id);
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
  }
}

function digest(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export function sessionCookie(value: string, secure: boolean, maxAgeSeconds: number): string {
  // No Path: the browser scopes the cookie to the directory of the login URL, which is
  // the console's mount point, whatever prefix a proxy put in front of it.
  return `${SESSION_COOKIE}=${value}; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}
