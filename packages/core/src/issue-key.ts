import { randomUUID } from 'node:crypto';
import { type Duration, parseDuration, timeAfter } from './duration.js';
import { generateKey } from './key-format.js';
import { fingerprintOf } from './key-hash.js';
import { auditFor, type OpsContext, propagate } from './ops-context.js';
import type { KeyRecord, KeyStatus } from './types.js';
import { checkClientId, checkMetadata, checkScopes, checkText } from './validate.js';

export interface IssueOptions {
  scopes?: readonly string[];
  metadata?: Record<string, unknown>;
  /** Lifetime of this key; `null` never expires. Default: the `keyLifetime` option. */
  ttl?: Duration | null;
  actor?: string;
  reason?: string;
}

/** A key as handed out: the plaintext appears here and nowhere else, ever. */
export interface IssuedKey {
  /** The plaintext key. Show it once; it cannot be recovered. */
  readonly key: string;
  readonly id: string;
  readonly clientId: string;
  readonly fingerprint: string;
  readonly scopes: readonly string[];
  readonly createdAt: number;
  readonly expiresAt: number | null;
}

/** Builds a fresh key record and its plaintext (nothing is written). */
export function newKey(
  ctx: OpsContext,
  fields: {
    clientId: string;
    status: KeyStatus;
    scopes: readonly string[];
    metadata: Record<string, unknown>;
    expiresAt: number | null;
    rotationId: string | null;
    replaces: string | null;
  },
  now: number,
): { key: string; record: KeyRecord } {
  const key = generateKey(ctx.config.prefix);
  const keyHash = ctx.hasher(key);
  const record: KeyRecord = {
    id: randomUUID(),
    keyHash,
    fingerprint: fingerprintOf(keyHash),
    prefix: ctx.config.prefix,
    createdAt: now,
    graceUntil: null,
    revokedAt: null,
    revokedReason: null,
    lastUsedAt: null,
    statusChangedAt: now,
    updatedAt: now,
    version: 1,
    ...fields,
  };
  return { key, record };
}

export function expiryFrom(ctx: OpsContext, now: number, ttl: Duration | null | undefined): number | null {
  if (ttl === null) return null;
  const lifetime = ttl === undefined ? ctx.config.keyLifetimeMs : parseDuration(ttl, 'ttl');
  return lifetime === null ? null : timeAfter(now, lifetime, ttl === undefined ? 'keyLifetime' : 'ttl');
}

export async function issueKey(ctx: OpsContext, clientIdInput: string, options: IssueOptions = {}): Promise<IssuedKey> {
  const clientId = checkClientId(clientIdInput);
  const scopes = checkScopes(options.scopes);
  const metadata = checkMetadata(options.metadata);
  const actor = checkText(options.actor, 'actor');
  const reason = checkText(options.reason, 'reason');
  const now = ctx.config.clock.now();
  const expiresAt = expiryFrom(ctx, now, options.ttl);
  const { key, record } = newKey(ctx, { clientId, status: 'active', scopes, metadata, expiresAt, rotationId: null, replaces: null }, now);

  await ctx.config.store.commit({
    at: now,
    insertKeys: [record],
    audit: [auditFor('key.issued', now, record, { actor, reason, data: { scopes, expiresAt } })],
  });
  await propagate(ctx, [record]);
  ctx.config.logger.info(
    { event: 'key.issued', clientId, keyId: record.id, fingerprint: record.fingerprint, actor },
    'keyward: key issued',
  );
  ctx.events.emit('key.issued', { at: now, clientId, keyId: record.id, fingerprint: record.fingerprint, scopes, expiresAt, actor });
  return { key, id: record.id, clientId, fingerprint: record.fingerprint, scopes, createdAt: now, expiresAt };
}
