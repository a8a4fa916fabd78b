import type { Keyward } from '@keyward/core';
import type { z } from 'zod';
import type { AbortRequest, ExtendRequest, IssueRequest, RevokeRequest, RotateRequest } from './api/schemas.js';
import { keyJson } from './data/records.js';

/**
 * The console's actions, shared by the HTML forms and the JSON API: each takes a
 * validated request and the operator, calls the core, and returns what the caller
 * shows. Every one is audited by the core with the operator as actor.
 */
export class AdminActions {
  constructor(private readonly keyward: Keyward) {}

  async issue(actor: string, body: z.infer<typeof IssueRequest>) {
    const issued = await this.keyward.issue(body.clientId, {
      ...(body.scopes === undefined ? {} : { scopes: body.scopes }),
      ...(body.ttl === undefined ? {} : { ttl: body.ttl }),
      actor,
      reason: 'issued from the operator console',
    });
    return {
      key: issued.key,
      replayed: false,
      id: issued.id,
      clientId: issued.clientId,
      fingerprint: issued.fingerprint,
      scopes: [...issued.scopes],
      createdAt: issued.createdAt,
      expiresAt: issued.expiresAt,
    };
  }

  async rotate(actor: string, clientId: string, body: z.infer<typeof RotateRequest>, idempotencyKey: string | undefined) {
    const result = await this.keyward.rotate(clientId, {
      ...(body.grace === undefined ? {} : { grace: body.grace }),
      ...(body.graceFrom === undefined ? {} : { graceFrom: body.graceFrom }),
      ...(body.keyId === undefined ? {} : { keyId: body.keyId }),
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      reason: body.reason ?? 'rotated from the operator console',
      actor,
    });
    const rotation = await this.keyward.store.findRotation(result.rotationId);
    return {
      key: result.key ?? null,
      replayed: result.replayed,
      rotationId: result.rotationId,
      clientId: result.clientId,
      newKeyId: result.newKeyId,
      fingerprint: result.fingerprint,
      graceUntil: rotation?.graceUntil ?? 0,
    };
  }

  async revoke(actor: string, keyId: string, body: z.infer<typeof RevokeRequest>) {
    const record = await this.keyward.revoke(keyId, { reason: body.reason, actor });
    return keyJson(record, this.keyward.config.clock.now());
  }

  async abort(actor: string, rotationId: string, body: z.infer<typeof AbortRequest>) {
    await this.keyward.abort(rotationId, { reason: body.reason ?? 'aborted from the operator console', actor });
    return { rotationId, state: 'aborted' as const };
  }

  async finalize(actor: string, rotationId: string) {
    const result = await this.keyward.finalize(rotationId, { actor });
    return {
      rotationId: result.rotationId,
      clientId: result.clientId,
      keyId: result.keyId,
      fingerprint: result.fingerprint,
      retiredKeyId: result.retiredKeyId,
      retiredFingerprint: result.retiredFingerprint,
    };
  }

  async extend(actor: string, rotationId: string, body: z.infer<typeof ExtendRequest>) {
    const { graceUntil } = await this.keyward.extendGrace(rotationId, { by: body.by, actor });
    return { rotationId, graceUntil };
  }

  async purge(actor: string) {
    const result = await this.keyward.purge({ actor });
    return { purged: result.purged, fingerprints: [...result.fingerprints] };
  }
}
