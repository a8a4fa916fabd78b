import { KEY_STATUSES, type KeyStatus, type LiveKey } from '@keyward/core';

/**
 * The JSON stored in an entry's `d` field, fields in a fixed order (equal keys encode
 * equally). `version` stays last: the set script recognises a sound entry by its suffix.
 */
export function encodeLiveKey(key: LiveKey): string {
  return JSON.stringify({
    id: key.id,
    clientId: key.clientId,
    keyHash: key.keyHash,
    fingerprint: key.fingerprint,
    status: key.status,
    scopes: key.scopes,
    expiresAt: key.expiresAt,
    graceUntil: key.graceUntil,
    rotationId: key.rotationId,
    deprecatedAt: key.deprecatedAt ?? null,
    switchedAt: key.switchedAt ?? null,
    version: key.version,
  });
}

/**
 * A decoded entry; or why it is corrupt; or `outdated`: a sound entry written by a
 * keyward before `deprecatedAt` existed, for a key in grace. The cache answers a
 * miss for it (no warning), the verifier reads the store, and its fill replaces the
 * entry (same version, other data).
 */
export type Decoded = { readonly key: LiveKey } | { readonly problem: string } | { readonly outdated: true };

const isTime = (v: unknown): v is number | null => v === null || (typeof v === 'number' && Number.isFinite(v));
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/**
 * Checks an entry read from Redis field by field: anything else than what `encodeLiveKey`
 * writes (bad JSON, a missing or mistyped field, another key's hash, a version that does not
 * match the `v` field) is reported as corrupt, never trusted.
 */
export function decodeLiveKey(keyHash: string, version: string | null, data: string | null): Decoded {
  if (version === null || data === null) return { problem: 'missing field' };
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return { problem: 'not JSON' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { problem: 'not an object' };
  const o = raw as Record<string, unknown>;
  if (!isText(o.id) || !isText(o.clientId) || !isText(o.fingerprint)) return { problem: 'bad id, clientId or fingerprint' };
  if (o.keyHash !== keyHash) return { problem: 'keyHash does not match the entry name' };
  if (typeof o.status !== 'string' || !KEY_STATUSES.includes(o.status as KeyStatus)) return { problem: 'bad status' };
  if (!Array.isArray(o.scopes) || !o.scopes.every((s) => typeof s === 'string')) return { problem: 'bad scopes' };
  if (!isTime(o.expiresAt) || !isTime(o.graceUntil)) return { problem: 'bad expiresAt or graceUntil' };
  if (o.rotationId !== null && !isText(o.rotationId)) return { problem: 'bad rotationId' };
  if (o.deprecatedAt !== undefined && !isTime(o.deprecatedAt)) return { problem: 'bad deprecatedAt' };
  if (o.switchedAt !== undefined && !isTime(o.switchedAt)) return { problem: 'bad switchedAt' };
  if (typeof o.version !== 'number' || !Number.isSafeInteger(o.version) || o.version < 0 || String(o.version) !== version) {
    return { problem: 'bad version' };
  }
  // Without the field, only a key out of grace can be decided: it has no deprecation time.
  if (o.deprecatedAt === undefined && o.graceUntil !== null) return { outdated: true };
  const key: LiveKey = {
    id: o.id,
    clientId: o.clientId,
    keyHash,
    fingerprint: o.fingerprint,
    status: o.status as KeyStatus,
    scopes: Object.freeze([...(o.scopes as string[])]),
    expiresAt: o.expiresAt,
    graceUntil: o.graceUntil,
    rotationId: o.rotationId as string | null,
    deprecatedAt: o.graceUntil === null ? null : (o.deprecatedAt as number | null),
    // Entries written before the field existed: not switched as far as they know (the
    // switch bumps the old key's version, so such an entry is below its floor anyway).
    switchedAt: o.graceUntil === null ? null : ((o.switchedAt as number | null | undefined) ?? null),
    version: o.version,
  };
  return { key: Object.freeze(key) };
}
