import type { KeyStore } from '../key-store.js';
import { type KeyRecord, type KeyStatus, OPEN_ROTATION_STATES } from '../types.js';

/**
 * A key's status as the verifier applies it now: the stored status, moved on by
 * the clock. `expired` is a key past its `expiresAt`.
 */
export type EffectiveStatus = KeyStatus | 'expired';

/** A key as listed to people and programs: `status` is effective, `storedStatus` is the row's. */
export type KeyView = Omit<KeyRecord, 'status'> & {
  /** What the verifier does with the key now (see `effectiveStatus`). */
  readonly status: EffectiveStatus;
  /** The status column, which the scheduler (`finalize`) catches up with the clock. */
  readonly storedStatus: KeyStatus;
};

/**
 * The status a key has now, decided from timestamps exactly as the verifier decides
 * (`refusalAt`): the stored status only changes when `finalize` runs, but the clock
 * does not wait for it. An active key past its rotation's grace is `inactive`; the
 * pending key of a rotation whose grace ended is `active` (the one the client now
 * holds); any live key past `expiresAt` is `expired`. `rotationGraceUntil` is the
 * grace end of the pending key's open rotation (`null` when there is none).
 */
export function effectiveStatus(key: KeyRecord, now: number, rotationGraceUntil: number | null = null): EffectiveStatus {
  if (key.status === 'revoked' || key.status === 'inactive') return key.status;
  if (key.expiresAt !== null && now >= key.expiresAt) return 'expired';
  if (key.status === 'active' && key.graceUntil !== null && now >= key.graceUntil) return 'inactive';
  if (key.status === 'pending' && rotationGraceUntil !== null && now >= rotationGraceUntil) return 'active';
  return key.status;
}

/** `keys` with their effective status (reads the open rotation of each pending key: at most one per client). */
export async function viewKeys(store: KeyStore, keys: readonly KeyRecord[], now: number): Promise<KeyView[]> {
  const graces = new Map<string, number>();
  await Promise.all(
    keys
      .filter((k) => k.status === 'pending' && k.rotationId !== null)
      .map(async (k) => {
        const rotation = await store.findRotation(k.rotationId as string);
        if (rotation && OPEN_ROTATION_STATES.includes(rotation.state)) graces.set(k.id, rotation.graceUntil);
      }),
  );
  return keys.map((k) => ({ ...k, storedStatus: k.status, status: effectiveStatus(k, now, graces.get(k.id) ?? null) }));
}
