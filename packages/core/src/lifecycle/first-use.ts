import { LRUCache } from 'lru-cache';
import { ErrorCodes } from '../error-codes.js';
import { isKeywardError } from '../errors.js';
import type { VersionedUpdate } from '../key-store.js';
import { errorFields } from '../logger.js';
import { auditFor, keyUpdate, type OpsContext, patched, propagate } from '../ops-context.js';
import { type AuditEntry, type KeyPatch, type KeyRecord, type LiveKey, OPEN_ROTATION_STATES, type RotationRecord } from '../types.js';

/** First uses written per transaction: one commit for many switches (the audit chain serialises commits). */
const BATCH = 100;
/** Batches written at once. */
const WORKERS = 4;

interface FirstUse {
  readonly key: LiveKey;
  readonly rotationId: string;
  readonly at: number;
}

/** What one switch writes, planned from the rows as read. */
interface SwitchPlan {
  readonly use: FirstUse;
  readonly rotation: RotationRecord;
  readonly updated: RotationRecord;
  readonly graceUntil: number;
  readonly oldKey: KeyRecord | null;
  readonly newKey: LiveKey;
  readonly oldUpdate: VersionedUpdate<KeyPatch> | undefined;
  readonly changedOld: KeyRecord | undefined;
  readonly audit: AuditEntry;
}

/**
 * Records the first successful use of a rotation's new key (issue 21), off the hot path:
 * the verifier calls `note` (synchronous, no I/O) for an accepted pending key; at most
 * once per key per process, a background write sets the rotation's `firstUsedAt` by
 * compare-and-set, so under concurrent first requests in several processes exactly one
 * write wins and the others find it done. The same write moves the old key's deadline
 * (`graceFrom: 'first-use'`: the use plus the grace, never later than before) and bumps
 * the old key's version, so every process re-reads it from the change log within about
 * a second: its new `Sunset`, and that its rotation has switched. The request is never
 * awaited on it; a failed write is logged and tried again on a later use. First uses
 * that come together are written together, up to 100 per transaction: the audit chain
 * serialises commits, so one commit per switch would queue up behind a burst.
 */
export class FirstUseRecorder {
  private readonly noted = new LRUCache<string, true>({ max: 100_000 });
  private queue: FirstUse[] = [];
  private draining: Promise<void> | undefined;

  constructor(private readonly ctx: OpsContext) {}

  /** An accepted pending key of a rotation was used at `at`. */
  note(key: LiveKey, at: number): void {
    if (key.rotationId === null || this.noted.has(key.id)) return;
    this.noted.set(key.id, true);
    this.queue.push({ key, rotationId: key.rotationId, at });
    // Drained in the background: many first uses at once go out in one transaction each batch.
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  /** Resolves once every first use noted so far is written (or given up): tests, `close`. */
  async settled(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
  }

  private async drain(): Promise<void> {
    // Let the current burst of requests queue up before the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    // A few batches at once: their reads overlap; their commits queue on the audit chain anyway.
    const worker = async () => {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, BATCH);
        try {
          await this.writeBatch(batch);
        } catch (error) {
          for (const use of batch) this.noted.delete(use.key.id); // tried again on a later use
          this.ctx.config.logger.warn(
            { ...errorFields(error), count: batch.length },
            'keyward: could not record the first use of new keys; will try again on their next use',
          );
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
  }

  /** One transaction for the batch; when it loses a race (another process switched one of them), one by one. */
  private async writeBatch(batch: readonly FirstUse[]): Promise<void> {
    const plans = (await Promise.all(batch.map((use) => this.plan(use)))).filter((p): p is SwitchPlan => p !== undefined);
    if (plans.length === 0) return;
    try {
      await this.commit(plans);
    } catch (error) {
      if (!isKeywardError(error, ErrorCodes.CONFLICT) || plans.length === 1) {
        if (isKeywardError(error, ErrorCodes.CONFLICT)) return; // recorded by another process first
        throw error;
      }
      for (const use of plans.map((p) => p.use)) {
        const plan = await this.plan(use);
        if (plan === undefined) continue;
        await this.commit([plan]).catch((e: unknown) => {
          if (!isKeywardError(e, ErrorCodes.CONFLICT)) throw e;
        });
      }
      return;
    }
  }

  /** Reads the rotation and its keys; `undefined` when there is nothing to record (not open, already switched). */
  private async plan(use: FirstUse): Promise<SwitchPlan | undefined> {
    const { store } = this.ctx.config;
    const rotation = await store.findRotation(use.rotationId);
    if (!rotation || rotation.newKeyId !== use.key.id || !OPEN_ROTATION_STATES.includes(rotation.state) || rotation.firstUsedAt !== null) {
      return undefined;
    }
    const oldKey = await store.findKeyById(rotation.oldKeyId);
    // The new key as verified: its id, client and fingerprint are all the audit row needs.
    const newKey = use.key;
    const { at } = use;
    const graceUntil =
      rotation.graceFrom === 'first-use' && rotation.graceMs !== null
        ? Math.min(rotation.graceUntil, at + rotation.graceMs)
        : rotation.graceUntil;
    // The old key is rewritten even when its deadline stays: the version bump is what tells
    // every process (through the change log) to re-read it, and so that its rotation switched.
    const inGrace = oldKey !== null && oldKey.status === 'active' && oldKey.rotationId === rotation.id && oldKey.graceUntil !== null;
    const oldPatch: KeyPatch | undefined = inGrace ? { graceUntil: Math.min(oldKey.graceUntil as number, graceUntil) } : undefined;
    return {
      use,
      rotation,
      updated: { ...rotation, firstUsedAt: at, graceUntil, version: rotation.version + 1, updatedAt: at },
      graceUntil,
      oldKey,
      newKey,
      oldUpdate: oldPatch && oldKey ? keyUpdate(oldKey, oldPatch) : undefined,
      changedOld: oldPatch && oldKey ? patched(oldKey, oldPatch, at) : undefined,
      audit: auditFor('rotation.switched', at, newKey, {
        rotation,
        data: {
          firstUsedAt: at,
          graceFrom: rotation.graceFrom,
          graceUntil,
          previousGraceUntil: rotation.graceUntil,
          oldFingerprint: oldKey?.fingerprint ?? null,
        },
      }),
    };
  }

  private async commit(plans: readonly SwitchPlan[]): Promise<void> {
    const { store, logger, clock } = this.ctx.config;
    await store.commit({
      at: clock.now(),
      updateRotations: plans.map((p) => ({
        id: p.rotation.id,
        expectedVersion: p.rotation.version,
        patch: { firstUsedAt: p.use.at, graceUntil: p.graceUntil },
      })),
      updateKeys: plans.flatMap((p) => (p.oldUpdate ? [p.oldUpdate] : [])),
      audit: plans.map((p) => p.audit),
    });
    await propagate(
      this.ctx,
      plans.flatMap((p) => (p.changedOld ? [p.changedOld] : [])),
      [],
      plans.map((p) => p.updated),
    );
    for (const p of plans) {
      logger.info(
        {
          event: 'rotation.switched',
          clientId: p.rotation.clientId,
          rotationId: p.rotation.id,
          fingerprint: p.newKey.fingerprint,
          graceUntil: p.graceUntil,
        },
        'keyward: the new key of a rotation was used for the first time',
      );
      this.ctx.events.emit('rotation.switched', {
        at: p.use.at,
        clientId: p.rotation.clientId,
        keyId: p.newKey.id,
        fingerprint: p.newKey.fingerprint,
        rotationId: p.rotation.id,
        oldKeyId: p.rotation.oldKeyId,
        oldFingerprint: p.oldKey?.fingerprint ?? '',
        firstUsedAt: p.use.at,
        graceUntil: p.graceUntil,
        graceFrom: p.rotation.graceFrom,
      });
    }
  }
}
