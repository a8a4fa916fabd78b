import { LRUCache } from 'lru-cache';
import { ErrorCodes } from '../error-codes.js';
import { isKeywardError } from '../errors.js';
import { errorFields } from '../logger.js';
import { auditFor, keyUpdate, type OpsContext, patched, propagate } from '../ops-context.js';
import { type LiveKey, OPEN_ROTATION_STATES, type RotationRecord } from '../types.js';

/**
 * Records the first successful use of a rotation's new key (issue 21), off the hot path:
 * the verifier calls `note` (synchronous, no I/O) for an accepted pending key; at most
 * once per key per process, a background write sets the rotation's `firstUsedAt` by
 * compare-and-set, so under concurrent first requests in several processes exactly one
 * write wins and the others find it done. The same write moves the old key's deadline
 * (`graceFrom: 'first-use'`: the use plus the grace, never later than before) and bumps
 * the old key's version, so every process re-reads it from the change log within about
 * a second: its new `Sunset`, and that its rotation has switched. The request is never
 * awaited on it; a failed write is logged and tried again on a later use.
 */
export class FirstUseRecorder {
  private readonly noted = new LRUCache<string, true>({ max: 100_000 });

  constructor(private readonly ctx: OpsContext) {}

  /** An accepted pending key of a rotation was used at `at`. */
  note(key: LiveKey, at: number): void {
    if (key.rotationId === null || this.noted.has(key.id)) return;
    this.noted.set(key.id, true);
    this.record(key, key.rotationId, at).catch((error: unknown) => {
      this.noted.delete(key.id);
      this.ctx.config.logger.warn(
        { ...errorFields(error), fingerprint: key.fingerprint, rotationId: key.rotationId },
        'keyward: could not record the first use of a new key; will try again on its next use',
      );
    });
  }

  /** Resolves once every write started so far has settled (tests, close). */
  async settled(): Promise<void> {
    await Promise.all([...this.inflight]);
  }

  private readonly inflight = new Set<Promise<void>>();

  private record(key: LiveKey, rotationId: string, at: number): Promise<void> {
    const write = this.write(key, rotationId, at);
    this.inflight.add(write);
    const done = () => this.inflight.delete(write);
    write.then(done, done);
    return write;
  }

  private async write(key: LiveKey, rotationId: string, at: number): Promise<void> {
    const { store, logger } = this.ctx.config;
    const rotation = await store.findRotation(rotationId);
    if (!rotation || rotation.newKeyId !== key.id || !OPEN_ROTATION_STATES.includes(rotation.state) || rotation.firstUsedAt !== null)
      return;
    const [oldKey, newKey] = await Promise.all([store.findKeyById(rotation.oldKeyId), store.findKeyById(rotation.newKeyId)]);
    if (!newKey) return;
    const graceUntil =
      rotation.graceFrom === 'first-use' && rotation.graceMs !== null
        ? Math.min(rotation.graceUntil, at + rotation.graceMs)
        : rotation.graceUntil;
    // The old key is rewritten even when its deadline stays: the version bump is what tells
    // every process (through the change log) to re-read it, and so that its rotation switched.
    const oldInGrace = oldKey !== null && oldKey.status === 'active' && oldKey.rotationId === rotation.id && oldKey.graceUntil !== null;
    const oldPatch = { graceUntil: oldInGrace ? Math.min(oldKey.graceUntil as number, graceUntil) : undefined };
    const updated: RotationRecord = { ...rotation, firstUsedAt: at, graceUntil, version: rotation.version + 1, updatedAt: at };
    try {
      await store.commit({
        at,
        updateRotations: [{ id: rotation.id, expectedVersion: rotation.version, patch: { firstUsedAt: at, graceUntil } }],
        updateKeys: oldInGrace && oldKey !== null ? [keyUpdate(oldKey, { graceUntil: oldPatch.graceUntil as number })] : [],
        audit: [
          auditFor('rotation.switched', at, newKey, {
            rotation,
            data: {
              firstUsedAt: at,
              graceFrom: rotation.graceFrom,
              graceUntil,
              previousGraceUntil: rotation.graceUntil,
              oldFingerprint: oldKey?.fingerprint ?? null,
            },
          }),
        ],
      });
    } catch (error) {
      // Another process recorded it first, or the rotation moved on meanwhile: nothing to do.
      if (isKeywardError(error, ErrorCodes.CONFLICT)) return;
      throw error;
    }
    const changed = oldInGrace && oldKey !== null ? [patched(oldKey, { graceUntil: oldPatch.graceUntil as number }, at)] : [];
    await propagate(this.ctx, changed, [], [updated]);
    logger.info(
      { event: 'rotation.switched', clientId: rotation.clientId, rotationId: rotation.id, fingerprint: newKey.fingerprint, graceUntil },
      'keyward: the new key of a rotation was used for the first time',
    );
    this.ctx.events.emit('rotation.switched', {
      at,
      clientId: rotation.clientId,
      keyId: newKey.id,
      fingerprint: newKey.fingerprint,
      rotationId: rotation.id,
      oldKeyId: rotation.oldKeyId,
      oldFingerprint: oldKey?.fingerprint ?? '',
      firstUsedAt: at,
      graceUntil,
      graceFrom: rotation.graceFrom,
    });
  }
}
