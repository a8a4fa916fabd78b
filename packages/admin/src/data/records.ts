import { type AuditRecord, effectiveStatus, type KeyRecord, type RotationRecord, rotationProgress } from '@keyward/core';
import type { z } from 'zod';
import type { AuditRow, Key, Rotation, RotationProgress } from '../api/schemas.js';
import type { RotationProgressRow } from './progress.js';

/** Records as the admin API shows them: no key hash, no metadata (it may hold anything), never a plaintext. */

export function keyJson(key: KeyRecord, now: number, rotationGraceUntil: number | null = null): z.infer<typeof Key> {
  return {
    id: key.id,
    clientId: key.clientId,
    fingerprint: key.fingerprint,
    prefix: key.prefix,
    status: key.status,
    effectiveStatus: effectiveStatus(key, now, rotationGraceUntil),
    scopes: [...key.scopes],
    createdAt: key.createdAt,
    expiresAt: key.expiresAt,
    graceUntil: key.graceUntil,
    rotationId: key.rotationId,
    replaces: key.replaces,
    revokedAt: key.revokedAt,
    revokedReason: key.revokedReason,
    lastUsedAt: key.lastUsedAt,
  };
}

export function rotationJson(r: RotationRecord): z.infer<typeof Rotation> {
  return {
    id: r.id,
    clientId: r.clientId,
    state: r.state,
    status: rotationProgress(r),
    oldKeyId: r.oldKeyId,
    newKeyId: r.newKeyId,
    graceFrom: r.graceFrom,
    graceUntil: r.graceUntil,
    firstUsedAt: r.firstUsedAt,
    reason: r.reason,
    actor: r.actor,
    createdAt: r.createdAt,
    completedAt: r.completedAt,
    lastError: r.lastError,
  };
}

export function auditJson(a: AuditRecord): z.infer<typeof AuditRow> {
  return {
    seq: a.seq,
    at: a.at,
    type: a.type,
    clientId: a.clientId,
    keyId: a.keyId,
    fingerprint: a.fingerprint,
    rotationId: a.rotationId,
    actor: a.actor,
    reason: a.reason,
    data: { ...a.data },
    prevHash: a.prevHash,
    hash: a.hash,
  };
}

export function progressJson(p: RotationProgressRow): z.infer<typeof RotationProgress> {
  return {
    rotation: rotationJson(p.rotation),
    verdict: p.verdict,
    hours: [...p.hours],
    oldPerHour: [...p.oldPerHour],
    newPerHour: [...p.newPerHour],
    oldKeyFingerprint: p.oldKey?.fingerprint ?? null,
    newKeyFingerprint: p.newKey?.fingerprint ?? null,
    oldLastUsedAt: p.oldLastUsedAt,
    graceLeftMs: p.graceLeftMs,
  };
}
