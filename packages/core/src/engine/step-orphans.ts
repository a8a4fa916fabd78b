import { refusalAt } from '../lifecycle.js';
import type { AuditEntry } from '../types.js';
import { type KeyRecord, OPEN_ROTATION_STATES, type RotationRecord, toLiveKey } from '../types.js';
import type { PassContext } from './pass-context.js';

/** What the orphan check can find. */
export type OrphanProblem =
  /** A pending key that no open rotation owns: it would never become active. */
  | 'pending_without_rotation'
  /** An open rotation past its grace end (never delivered, or finalize keeps failing). */
  | 'rotation_stuck'
  /**
   * A rotation a crash left `started` whose delivery no sink could confirm or rule
   * out: open, both keys valid until its grace ends. Check whether the client got
   * the new key; its first use marks it delivered.
   */
  | 'delivery_unknown'
  /** An active key past its expiry that nobody is replacing. */
  | 'active_key_expired'
  /** A client none of whose keys is accepted now (and not all of them revoked on purpose). */
  | 'client_without_valid_key';

interface Orphan {
  problem: OrphanProblem;
  clientId: string;
  key: KeyRecord | null;
  rotation: RotationRecord | null;
}

function findOrphans(keys: readonly KeyRecord[], open: readonly RotationRecord[], now: number, staleBefore: number): Orphan[] {
  const found: Orphan[] = [];
  const ownedPending = new Set(open.map((r) => r.newKeyId));
  const byId = new Map(keys.map((k) => [k.id, k]));
  const byClient = new Map<string, KeyRecord[]>();
  for (const key of keys) {
    const list = byClient.get(key.clientId);
    if (list) list.push(key);
    else byClient.set(key.clientId, [key]);
    if (key.status === 'pending' && !ownedPending.has(key.id))
      found.push({ problem: 'pending_without_rotation', clientId: key.clientId, key, rotation: null });
    if (key.status === 'active' && key.graceUntil === null && key.expiresAt !== null && key.expiresAt <= now) {
      found.push({ problem: 'active_key_expired', clientId: key.clientId, key, rotation: null });
    }
  }
  for (const rotation of open) {
    if (rotation.graceUntil <= now) found.push({ problem: 'rotation_stuck', clientId: rotation.clientId, key: null, rotation });
    // Step 1 settled every crashed rotation it could; one still `started` is unknown.
    if (rotation.state === 'started' && rotation.createdAt <= staleBefore) {
      found.push({ problem: 'delivery_unknown', clientId: rotation.clientId, key: byId.get(rotation.newKeyId) ?? null, rotation });
    }
  }
  for (const [clientId, list] of byClient) {
    if (list.every((k) => k.status === 'revoked')) continue; // offboarded on purpose
    if (list.some((k) => refusalAt(toLiveKey(k), now) === undefined)) continue;
    found.push({ problem: 'client_without_valid_key', clientId, key: null, rotation: null });
  }
  return found;
}

/**
 * Step 5: looks for states that should not exist and raises `key.orphaned` for each
 * (at most once per problem and key per `noticeInterval`), with a durable
 * `key.orphaned` audit row for each one raised.
 */
export async function detectOrphans(ctx: PassContext): Promise<void> {
  const { keyward, config } = ctx;
  const now = keyward.config.clock.now();
  const [keys, open] = await Promise.all([keyward.store.listKeys({}), keyward.store.listRotations({ state: OPEN_ROTATION_STATES })]);
  const orphans = findOrphans(keys, open, now, now - config.staleAfterMs);
  ctx.summary.orphans += orphans.length;
  const audit: AuditEntry[] = [];
  for (const { problem, clientId, key, rotation } of orphans) {
    const subject = key?.id ?? rotation?.id ?? clientId;
    if (!ctx.notices.hit(`orphan:${problem}:${subject}`, now).allow) continue;
    const facts = { clientId, keyId: key?.id ?? null, fingerprint: key?.fingerprint ?? null, rotationId: rotation?.id ?? null };
    config.logger.warn({ event: 'key.orphaned', problem, ...facts }, 'keyward: orphan found');
    audit.push({
      at: now,
      type: 'key.orphaned',
      ...facts,
      actor: config.actor,
      reason: problem,
      data: { state: rotation?.state ?? key?.status ?? null },
    });
    keyward.events.emit('key.orphaned', { at: now, clientId, keyId: facts.keyId, fingerprint: facts.fingerprint, problem });
  }
  if (audit.length > 0) await keyward.store.commit({ at: now, audit });
}
