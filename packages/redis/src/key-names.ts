import { invalidArgument } from './errors.js';

/** Key hashes are hex digests (SHA-256 or HMAC-SHA256): safe inside a hash tag. */
const KEY_HASH = /^[0-9a-f]{16,128}$/;
/** Lock names: printable, no braces (they would break the hash tag) and no spaces. */
const LOCK_NAME = /^[\x21-\x7a\x7c\x7e]{1,200}$/;

export function checkKeyHash(keyHash: unknown): string {
  if (typeof keyHash !== 'string' || !KEY_HASH.test(keyHash)) throw invalidArgument('keyHash', keyHash, 'must be a lowercase hex digest');
  return keyHash;
}

/**
 * Key and channel names. Each key carries its own hash tag (`{...}`), so every script touches
 * one slot and the whole package works on Redis Cluster.
 */
export const keyNames = {
  /** The cached live key: `<ns>:key:{<keyHash>}` (a hash with fields `v` and `d`). */
  entry: (ns: string, keyHash: string): string => `${ns}:key:{${keyHash}}`,
  /** The invalidation channel: `<ns>:invalidate`. */
  channel: (ns: string): string => `${ns}:invalidate`,
  /** A lock: `<ns>:lock:{<name>}`. */
  lock(ns: string, name: unknown): string {
    if (typeof name !== 'string' || !LOCK_NAME.test(name)) {
      throw invalidArgument('lock name', name, 'must be 1-200 printable characters without spaces or braces');
    }
    return `${ns}:lock:{${name}}`;
  },
};
