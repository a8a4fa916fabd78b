/** The two scopes of the console: read everything, or also act. */
export const ADMIN_SCOPES = ['keyward:read', 'keyward:write'] as const;
export type AdminScope = (typeof ADMIN_SCOPES)[number];

/** Who is asking, as `authorize` or an admin key says. */
export interface AdminPrincipal {
  /** Recorded as the actor of every action (e.g. `admin:alice`). */
  readonly actor: string;
  readonly scopes: readonly string[];
}

export function canRead(p: AdminPrincipal): boolean {
  return p.scopes.includes('keyward:read') || p.scopes.includes('keyward:write');
}

export function canWrite(p: AdminPrincipal): boolean {
  return p.scopes.includes('keyward:write');
}
