import { type ConsoleQueries, HOUR_MS, hourOf, type KeyRecord, type KeyStore, type RotationRecord, type UsageBucket } from '@keyward/core';
import { AdminErrorCodes, AdminHttpError } from '../http/errors.js';

/**
 * What an open rotation's traffic says:
 * - `switched`: the new key is in use and the old key has been silent since;
 * - `both`: both keys were used since the switch (some replica still has the old one);
 * - `not-switched`: only the old key is in use (or neither yet).
 */
export type Verdict = 'switched' | 'both' | 'not-switched';

export interface RotationProgressRow {
  readonly rotation: RotationRecord;
  readonly oldKey: KeyRecord | null;
  readonly newKey: KeyRecord | null;
  /** Requests per hour since the rotation started, oldest hour first (the last is the current hour). */
  readonly hours: readonly number[];
  readonly oldPerHour: readonly number[];
  readonly newPerHour: readonly number[];
  readonly oldLastUsedAt: number | null;
  readonly graceLeftMs: number;
  readonly verdict: Verdict;
}

/** At most this many hourly buckets per rotation on the page (a week). */
const MAX_HOURS = 168;

export function verdictOf(rotation: RotationRecord, oldKey: KeyRecord | null, newUses: number): Verdict {
  const switchedAt = rotation.firstUsedAt;
  if (switchedAt === null && newUses === 0) return 'not-switched';
  const since = switchedAt ?? rotation.createdAt;
  const oldLast = oldKey?.lastUsedAt ?? null;
  return oldLast !== null && oldLast > since ? 'both' : 'switched';
}

export interface ProgressPage {
  readonly rows: readonly RotationProgressRow[];
  /** Cursor for the next page (`createdAt:id`), or `null`. */
  readonly next: string | null;
}

/** A rotation-page cursor (`createdAt:id`, as `next` gives it); absent is `undefined`, malformed is a 400. */
export function parseRotationCursor(value: string | null | undefined): { createdAt: number; id: string } | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const colon = value.indexOf(':');
  const createdAt = Number(value.slice(0, colon));
  const id = value.slice(colon + 1);
  if (colon <= 0 || !Number.isSafeInteger(createdAt) || id.length === 0 || id.length > 100) {
    throw new AdminHttpError(
      400,
      AdminErrorCodes.INVALID_REQUEST,
      'after: not a rotation cursor (use the next value of the previous page)',
    );
  }
  return { createdAt, id };
}

/**
 * One page of open rotations with their traffic: one query for the rotations, one for
 * their keys and one for the usage buckets of the whole page, whatever its size.
 */
export async function rotationProgressPage(
  store: KeyStore & ConsoleQueries,
  now: number,
  options: { after?: { createdAt: number; id: string }; limit: number; clientId?: string },
): Promise<ProgressPage> {
  const rotations =
    options.clientId === undefined
      ? await store.listRotationsPage({
          state: ['started', 'delivered'],
          limit: options.limit + 1,
          ...(options.after ? { after: options.after } : {}),
        })
      : await store.listRotations({ clientId: options.clientId, state: ['started', 'delivered'] });
  const page = rotations.slice(0, options.limit);
  const keyIds = page.flatMap((r) => [r.oldKeyId, r.newKeyId]);
  const earliest = Math.min(now, ...page.map((r) => r.createdAt));
  const [keys, usage] = await Promise.all([
    store.findKeysByIds(keyIds),
    keyIds.length === 0
      ? Promise.resolve([] as UsageBucket[])
      : store.listUsage({ keyIds, since: hourOf(Math.max(earliest, now - MAX_HOURS * HOUR_MS)) }),
  ]);
  const byId = new Map(keys.map((k) => [k.id, k]));
  const byKey = new Map<string, UsageBucket[]>();
  for (const b of usage) {
    const list = byKey.get(b.keyId);
    if (list) list.push(b);
    else byKey.set(b.keyId, [b]);
  }
  const rows = page.map((rotation): RotationProgressRow => {
    const first = hourOf(Math.max(rotation.createdAt, now - (MAX_HOURS - 1) * HOUR_MS));
    const hours: number[] = [];
    for (let h = first; h <= hourOf(now); h += HOUR_MS) hours.push(h);
    const series = (keyId: string) => {
      const counts = new Map((byKey.get(keyId) ?? []).map((b) => [b.hour, b.valid + b.grace]));
      return hours.map((h) => counts.get(h) ?? 0);
    };
    const oldKey = byId.get(rotation.oldKeyId) ?? null;
    const newPerHour = series(rotation.newKeyId);
    const newUses = newPerHour.reduce((a, b) => a + b, 0);
    return {
      rotation,
      oldKey,
      newKey: byId.get(rotation.newKeyId) ?? null,
      hours,
      oldPerHour: series(rotation.oldKeyId),
      newPerHour,
      oldLastUsedAt: oldKey?.lastUsedAt ?? null,
      graceLeftMs: Math.max(0, rotation.graceUntil - now),
      verdict: verdictOf(rotation, oldKey, newUses),
    };
  });
  const last = page.at(-1);
  return { rows, next: rotations.length > options.limit && last ? `${last.createdAt}:${last.id}` : null };
}
