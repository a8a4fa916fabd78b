import type { AuditRecord, ClientSummary, ConsoleQueries, KeyStatus, KeyStore, Keyward } from '@keyward/core';

/** Audit types the overview counts as alerts, with what each means to an operator. */
export const ALERT_TYPES = {
  'key.used_in_grace': 'old key used (in grace)',
  'key.used_after_switch': 'old key used after the switch',
  'key.rejected': 'retired or revoked key used',
  'rotation.failed': 'rotation failed',
  'key.orphaned': 'orphaned key',
  'key.leaked': 'leaked key reported',
} as const;

export type HealthState = 'ok' | 'failing' | 'off';

export interface Health {
  readonly store: { state: HealthState; ms: number | null; detail: string };
  readonly cache: { state: HealthState; ms: number | null; detail: string };
  readonly changeLog: { state: HealthState; detail: string };
}

export interface Overview {
  readonly now: number;
  readonly health: Health;
  readonly keysByStatus: Record<KeyStatus, number> | null;
  readonly openRotations: { count: number; more: boolean };
  readonly expiring: readonly ClientSummary[];
  readonly expiringMore: boolean;
  readonly alerts: readonly { type: keyof typeof ALERT_TYPES; label: string; count: number; more: boolean; latest: AuditRecord | null }[];
  /** The newest rows checked link by link (the full chain is verified on the audit page). */
  readonly auditTail: { ok: boolean; rows: number; head: AuditRecord | null };
}

const NO_KEY = '0'.repeat(64);

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

async function timed(work: () => Promise<unknown>): Promise<{ state: HealthState; ms: number | null; detail: string }> {
  const t0 = performance.now();
  try {
    await withTimeout(work(), 2000);
    const ms = Math.round((performance.now() - t0) * 10) / 10;
    return { state: 'ok', ms, detail: `answered in ${ms} ms` };
  } catch (error) {
    return { state: 'failing', ms: null, detail: error instanceof Error ? error.message : String(error) };
  }
}

export async function health(keyward: Keyward, store: KeyStore & ConsoleQueries): Promise<Health> {
  const cache = keyward.config.cache;
  const [storeHealth, cacheHealth] = await Promise.all([
    timed(() => store.findKeyByHash(NO_KEY)),
    cache ? timed(() => cache.get(NO_KEY)) : Promise.resolve({ state: 'off' as const, ms: null, detail: 'no shared cache configured' }),
  ]);
  const log = keyward.changeLogStatus();
  const now = keyward.config.clock.now();
  const changeLog: Health['changeLog'] =
    log === undefined
      ? { state: 'off', detail: 'the change log is not followed in this process' }
      : log.failing
        ? { state: 'failing', detail: 'the last read of the change log failed' }
        : {
            state: 'ok',
            detail: `read up to #${log.lastSeq}${log.lastReadAt === null ? '' : `, ${Math.max(0, Math.round((now - log.lastReadAt) / 100) / 10)} s ago`}`,
          };
  return { store: storeHealth, cache: cacheHealth, changeLog };
}

export async function overview(keyward: Keyward, store: KeyStore & ConsoleQueries, rotateBeforeMs: number): Promise<Overview> {
  const now = keyward.config.clock.now();
  const since = now - 24 * 3_600_000;
  const [h, keysByStatus, open, expiring, alerts, tail] = await Promise.all([
    health(keyward, store),
    store.countKeysByStatus().catch(() => null),
    store.listRotationsPage({ state: ['started', 'delivered'], limit: 1001 }),
    store.listClients({ expiresBefore: now + rotateBeforeMs, limit: 11 }),
    Promise.all(
      (Object.keys(ALERT_TYPES) as (keyof typeof ALERT_TYPES)[]).map(async (type) => {
        const rows = (await store.listAuditPage({ type, limit: 100 })).filter((r) => r.at >= since);
        return { type, label: ALERT_TYPES[type], count: rows.length, more: rows.length === 100, latest: rows[0] ?? null };
      }),
    ),
    store.listAuditPage({ limit: 100 }),
  ]);
  return {
    now,
    health: h,
    keysByStatus,
    openRotations: { count: Math.min(open.length, 1000), more: open.length > 1000 },
    expiring: expiring.clients.slice(0, 10),
    expiringMore: expiring.clients.length > 10,
    alerts,
    auditTail: { ok: tailIntact(tail), rows: tail.length, head: tail[0] ?? null },
  };
}

/** Newest first: each row's `prevHash` is the next older row's hash, with no gap in `seq`. */
function tailIntact(rows: readonly AuditRecord[]): boolean {
  for (let i = 0; i + 1 < rows.length; i++) {
    const row = rows[i] as AuditRecord;
    const older = rows[i + 1] as AuditRecord;
    if (row.seq !== older.seq + 1 || row.prevHash !== older.hash) return false;
  }
  return true;
}
