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
  return toLiveKey(record, rotation?.createdAt ?? null, rotation?.firstUsedAt ?? null);
}

/**
 * After the store committed: drop the keys from this process's LRU, write them
 * through to the shared cache (a tombstone for a retired key, never a delete), and
 * only then tell other processes (a process woken by the message must find the new
 * entry in the cache, not the old one). The store is the truth, so a failure here is
 * not thrown: it is logged and raised as `change.not_shared`, and other processes
 * learn the change from the store's change log (their readers also refuse a cache
 * entry older than the log says). `rotations`: rows just written, for the start time
 * of keys in grace.
 */
export async function propagate(
  ctx: OpsContext,
  changed: readonly KeyRecord[],
  deleted: readonly KeyRecord[] = [],
  rotations: readonly RotationRecord[] = [],
): Promise<void> {
  const { cache, bus, logger, clock } = ctx.config;
  const all = [...changed, ...deleted];
  for (const record of changed) ctx.verifier.committed(record.keyHash, record.status, record.version);
  for (const record of deleted) ctx.verifier.committed(record.keyHash, 'deleted', record.version);
  if (all.length === 0) return;
  const failed = { cache: false, bus: false, error: '' };
  const note = (what: 'cache' | 'bus', record: KeyRecord) => (error: unknown) => {
    failed[what] = true;
    failed.error ||= errorFields(error).err.message;
    logger.error(
      { ...errorFields(error), fingerprint: record.fingerprint },
      `keyward: ${what === 'cache' ? 'shared cache write' : 'invalidation publish'} failed after a committed change; other processes learn it from the change log`,
    );
  };
  if (cache) {
    await Promise.all(
      changed.map((record) =>
        liveKeyOf(ctx, record, rotations)
          .then((key) => cache.write(key))
          .catch(note('cache', record)),
      ),
    );
  }
  if (bus) await Promise.all(all.map((record) => bus.publish(record.keyHash).catch(note('bus', record))));
  if (failed.cache || failed.bus) {
    ctx.events.emit('change.not_shared', {
      at: clock.now(),
      fingerprints: all.map((k) => k.fingerprint),
      cache: failed.cache,
      bus: failed.bus,
      error: failed.error,
    });
  }
}
