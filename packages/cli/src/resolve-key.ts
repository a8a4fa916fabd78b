import type { KeyRecord, KeyStore } from '@keyward/core';
import { OperationError, UsageError } from './errors.js';

/** A fingerprint (4-8 hex characters) or a longer prefix of the key's hash, up to all 64. */
const HASH_PREFIX = /^[0-9a-f]{4,64}$/;
const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Finds exactly one key from what an operator typed: its fingerprint (or a unique
 * prefix of one), a longer prefix of its hash (the SHA-256 of a leaked key names it
 * for sure), or its key id (`keyward --json list` shows it), optionally of one
 * client. Several matches are a usage error that says how to pick one.
 */
export async function resolveKey(store: KeyStore, reference: string, clientId?: string): Promise<KeyRecord> {
  const ref = reference.trim().toLowerCase();
  const ofClient = clientId === undefined ? '' : ` of client ${clientId}`;
  if (KEY_ID.test(ref)) {
    const key = await store.findKeyById(ref);
    if (!key || (clientId !== undefined && key.clientId !== clientId)) throw new OperationError(`no key with id ${ref}${ofClient}`);
    return key;
  }
  if (!HASH_PREFIX.test(ref)) {
    throw new UsageError(
      `a key is named by its fingerprint (4 to 8 hex characters), a longer prefix of its hash (up to 64), or its key id; got ${JSON.stringify(reference)}`,
    );
  }
  const matches = (await store.findKeysByFingerprint(ref)).filter((k) => clientId === undefined || k.clientId === clientId);
  if (matches.length === 0) throw new OperationError(`no key with fingerprint ${ref}${ofClient}`);
  if (matches.length > 1) {
    const listed = matches.map((k) => `${k.fingerprint} of ${k.clientId} (key id ${k.id})`).join(', ');
    const clients = new Set(matches.map((k) => k.clientId));
    const how = ref.length < 8 ? 'give all 8 characters of the fingerprint, ' : 'give more of the hash (e.g. the SHA-256 of the key), ';
    throw new UsageError(
      `fingerprint ${ref} matches ${matches.length} keys: ${listed}; ${how}the key id${clients.size > 1 && clientId === undefined ? ', or --client <id>' : ''}`,
    );
  }
  return matches[0] as KeyRecord;
}
