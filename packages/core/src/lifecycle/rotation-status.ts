import { OPEN_ROTATION_STATES, type RotationRecord, type RotationState } from '../types.js';

/**
 * Where a rotation stands, as an operator and its consumer see it (issue 21):
 * `pending` (the new key is unused), `switched` (the new key was used; the old key is
 * in its grace), `completed`, or `aborted` (aborted on purpose, or failed).
 */
export type RotationProgress = 'pending' | 'switched' | 'completed' | 'aborted';

export interface RotationView {
  readonly rotationId: string;
  readonly clientId: string;
  readonly status: RotationProgress;
  /** The stored state behind `status` (`started`/`delivered` are both open). */
  readonly state: RotationState;
  readonly graceFrom: 'rotation' | 'first-use';
  /** When the old key stops working (moves earlier at first use with `graceFrom: 'first-use'`). */
  readonly graceUntil: number;
  /** When the new key was first used, in any process; `null` while unused. */
  readonly firstUsedAt: number | null;
  readonly oldKeyId: string;
  readonly newKeyId: string;
  readonly startedAt: number;
  readonly completedAt: number | null;
}

export function rotationProgress(rotation: Pick<RotationRecord, 'state' | 'firstUsedAt'>): RotationProgress {
  if (OPEN_ROTATION_STATES.includes(rotation.state)) return rotation.firstUsedAt === null ? 'pending' : 'switched';
  return rotation.state === 'completed' ? 'completed' : 'aborted';
}

export function viewRotation(rotation: RotationRecord): RotationView {
  return {
    rotationId: rotation.id,
    clientId: rotation.clientId,
    status: rotationProgress(rotation),
    state: rotation.state,
    graceFrom: rotation.graceFrom,
    graceUntil: rotation.graceUntil,
    firstUsedAt: rotation.firstUsedAt,
    oldKeyId: rotation.oldKeyId,
    newKeyId: rotation.newKeyId,
    startedAt: rotation.createdAt,
    completedAt: rotation.completedAt,
  };
}
