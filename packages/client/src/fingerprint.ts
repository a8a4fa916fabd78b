import { createHash } from 'node:crypto';

/**
 * A local fingerprint of a key: `sha256:` and the first 8 hex digits of its SHA-256.
 * The server's fingerprint (peppered) is used instead whenever a rotation reported it.
 */
export function localFingerprint(key: string): string {
  return `sha256:${createHash('sha256').update(key).digest('hex').slice(0, 8)}`;
}
