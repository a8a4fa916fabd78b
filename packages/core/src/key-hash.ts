import { createHmac, hash as oneShotHash } from 'node:crypto';

/** Hashes a plaintext key for storage and lookup. */
export type KeyHasher = (key: string) => string;

/**
 * Builds the key hasher: SHA-256 hex, or HMAC-SHA256 hex when a server-side pepper
 * is configured (a leaked table is then useless without the pepper). The one-shot
 * `crypto.hash` is ~2.5x cheaper than `createHash(...).digest()` on this hot path.
 */
export function createKeyHasher(pepper?: string | Uint8Array): KeyHasher {
  if (pepper === undefined) return (key) => oneShotHash('sha256', key, 'hex');
  return (key) => createHmac('sha256', pepper).update(key).digest('hex');
}

/** SHA-256 (or HMAC-SHA256 with `pepper`) of a key as lowercase hex. */
export function hashKey(key: string, pepper?: string | Uint8Array): string {
  return createKeyHasher(pepper)(key);
}

/** The 8-char fingerprint: the only form of a key that appears in logs, events, audit and CLI output. */
export function fingerprintOf(keyHash: string): string {
  return keyHash.slice(0, 8);
}
