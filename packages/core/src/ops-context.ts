import type { KeywardEmitter } from './events.js';
import type { KeyHasher } from './key-hash.js';
import type { VersionedUpdate } from './key-store.js';
import { errorFields } from './logger.js';
import type { KeywardConfig } from './options.js';
import {
  type AuditEntry,
  type KeyPatch,
  type KeyRecord,
  type LiveKey,
  needsRotationStart,
  type RotationRecord,
  toLiveKey,
} from './types.js';
import type { Verifier } from './verifier.js';

/** What every lifecycle operation needs: config, hasher, events and change propagation. */
export interface OpsContext {
  readonly config: KeywardConfig;
  readonly hasher: KeyHasher;
  readonly events: KeywardEmitter;
  readonly verifier: Verifier;
}

/** The record a compare-and-set update produces, computed the same way every store does. */
export function patched(record: KeyRecord, patch: KeyPatch, at: number): KeyRecord {
  return { ...record, ...patch, version: record.version + 1, updatedAt: at };
}

export function keyUpdate(record: KeyRecord, patch: KeyPatch): VersionedUpdate<KeyPatch> {
  return { id: record.id, expectedVersion: record.version, patch };
}

export function auditFor(
  type: string,
  at: number,
  key: Pick<KeyRecord, 'clientId' | 'id' | 'fingerprint'> | null,
  extra: {
    rotation?: Pick<RotationRecord, 'id' | 'clientId'> | null;
    actor?: string | null;
    reason?: string | null;
    data?: Record<string, unknown>;
  } = {},
): AuditEntry {
  return {
    at,
    type,
    clientId: key?.clientId ?? extra.rotation?.clientId ?? null,
    keyId: key?.id ?? null,
    fingerprint: key?.fingerprint ?? null,
    rotationId: extra.rotation?.id ?? null,
    actor: extra.actor ?? null,
    reason: extra.reason ?? null,
    data: extra.data ?? {},
  };
}

/**
 * The cache form of a record: a key in grace carries its rotation's start
 * (`deprecatedAt`), taken from `rotations` when the caller has the row at hand,
 * else read from the store (rare: a change to an accepted key in grace that is not
 * its rotation's start). A retired key's tombstone needs none.
 */
export async function liveKeyOf(ctx: OpsContext, record: KeyRecord, rotations: readonly RotationRecord[] = []): Promise<LiveKey> {
  if (!needsRotationStart(record)) return toLiveKey(record);
  const rotation = rotations.find((r) => r.id === record.rotationId) ?? (await ctx.config.store.findRotation(record.rotationId));
  return toLiveKey(record, rotation?.createdAt ?? null);
}

/**
 * After the store committed: drop the keys from this process's LRU, write them
 * through to the shared cache (a tombstone for a retired key, never a delete), and
 * tell other processes. The store is the truth, so a failure here is logged, not
 * thrown: cache entries are bounded by their TTL and the LRU by its max age.
 * `rotations`: rows just written, for the start time of keys in grace.
 */
export async function propagate(
  ctx: OpsContext,
  changed: readonly KeyRecord[],
  deleted: readonly KeyRecord[] = [],
  rotations: readonly RotationRecord[] = [],
): Promise<void> {
  const { cache, bus, logger } = ctx.config;
  for (const record of [...changed, ...deleted]) ctx.verifier.invalidate(record.keyHash);
  const work: Promise<unknown>[] = [];
  for (const record of changed) {
    if (cache) {
      const written = liveKeyOf(ctx, record, rotations).then((key) => cache.write(key));
      work.push(written.catch((e: unknown) => warn(e, record, 'shared cache write')));
    }
  }
  for (const record of [...changed, ...deleted]) {
    if (bus) work.push(bus.publish(record.keyHash).catch((e: unknown) => warn(e, record, 'invalidation publish')));
  }
  await Promise.all(work);

  function warn(error: unknown, record: KeyRecord, what: string): void {
    logger.error({ ...errorFields(error), fingerprint: record.fingerprint }, `keyward: ${what} failed after a committed change`);
  }
}
