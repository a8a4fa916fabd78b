import { randomUUID } from 'node:crypto';
import { generateKey } from './key-format.js';
import { fingerprintOf, hashKey } from './key-hash.js';
import type { KeyRecord, RotationRecord } from './types.js';

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;

/** A valid key record for tests; every field can be overridden. */
export function makeKeyRecord(overrides: Partial<KeyRecord> = {}): KeyRecord {
  const keyHash = overrides.keyHash ?? hashKey(generateKey('sk_test'));
  return {
    id: randomUUID(),
    clientId: 'acme',
    keyHash,
    fingerprint: fingerprintOf(keyHash),
    prefix: 'sk_test',
    status: 'active',
    scopes: ['orders:read'],
    metadata: { team: 'payments', nested: { a: [1, 2] } },
    createdAt: T0,
    expiresAt: T0 + 30 * 24 * HOUR,
    graceUntil: null,
    rotationId: null,
    replaces: null,
    revokedAt: null,
    revokedReason: null,
    lastUsedAt: null,
    statusChangedAt: T0,
    updatedAt: T0,
    version: 1,
    ...overrides,
  };
}

export function makeRotationRecord(oldKey: KeyRecord, newKey: KeyRecord, overrides: Partial<RotationRecord> = {}): RotationRecord {
  return {
    id: randomUUID(),
    clientId: oldKey.clientId,
    oldKeyId: oldKey.id,
    newKeyId: newKey.id,
    state: 'delivered',
    reason: 'scheduled',
    actor: 'test',
    idempotencyKey: null,
    graceUntil: T0 + 48 * HOUR,
    createdAt: T0,
    updatedAt: T0,
    completedAt: null,
    lastError: null,
    version: 1,
    graceFrom: 'rotation',
    graceMs: null,
    firstUsedAt: null,
    ...overrides,
  };
}
