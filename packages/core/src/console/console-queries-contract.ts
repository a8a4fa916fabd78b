import { describe, expect, it } from 'vitest';
import type { KeyStore } from '../key-store.js';
import { makeKeyRecord, makeRotationRecord } from '../store-contract-records.js';
import type { AuditEntry, KeyRecord } from '../types.js';
import { type ConsoleQueries, HOUR_MS, hasConsoleQueries } from './console-queries.js';

const T0 = Date.UTC(2026, 0, 1);
const DAY = 24 * HOUR_MS;

function entry(type: string, clientId: string | null, actor: string, at = T0): AuditEntry {
  return { at, type, clientId, keyId: null, fingerprint: null, rotationId: null, actor, reason: null, data: {} };
}

/** The console's queries (`ConsoleQueries`), part of the store contract: every store keyward ships has them. */
export function consoleQueriesContract(name: string, getStore: () => KeyStore): void {
  describe('console queries', () => {
    const store = (): KeyStore & ConsoleQueries => {
      const s = getStore();
      if (!hasConsoleQueries(s)) throw new Error(`${name} lacks the console queries (listClients, addUsage, …)`);
      return s;
    };

    it('pages clients by id with keyset pagination, each with its keys by status, next expiry and last use', async () => {
      const keys: KeyRecord[] = [];
      for (const clientId of ['c-03', 'c-01', 'c-02', 'c-05', 'c-04']) {
        keys.push(makeKeyRecord({ clientId, status: 'active', expiresAt: T0 + 10 * DAY, lastUsedAt: T0 + 5 }));
      }
      keys.push(makeKeyRecord({ clientId: 'c-02', status: 'pending', expiresAt: T0 + 3 * DAY, lastUsedAt: T0 + 9 }));
      keys.push(makeKeyRecord({ clientId: 'c-02', status: 'revoked', expiresAt: T0 + DAY }));
      await store().commit({ at: T0, insertKeys: keys });
      const first = await store().listClients({ limit: 2 });
      expect(first.clients.map((c) => c.clientId)).toEqual(['c-01', 'c-02']);
      expect(first.next).toBe('c-02');
      expect(first.clients[1]).toEqual({
        clientId: 'c-02',
        counts: { pending: 1, active: 1, inactive: 0, revoked: 1 },
        nextExpiry: T0 + 3 * DAY,
        lastUsedAt: T0 + 9,
      });
      const second = await store().listClients({ limit: 2, after: 'c-02' });
      expect(second.clients.map((c) => c.clientId)).toEqual(['c-03', 'c-04']);
      const last = await store().listClients({ limit: 2, after: 'c-04' });
      expect(last).toEqual({ clients: [expect.objectContaining({ clientId: 'c-05' })], next: null });
      expect(await store().listClients({ limit: 5, after: 'c-05' })).toEqual({ clients: [], next: null });
    });

    it('searches by client id prefix or fingerprint prefix, and filters by status and expiry', async () => {
      const a = makeKeyRecord({ clientId: 'billing-eu', status: 'active', expiresAt: T0 + 2 * DAY });
      const b = makeKeyRecord({ clientId: 'billing-us', status: 'revoked', expiresAt: T0 + DAY });
      const c = makeKeyRecord({ clientId: 'search_%', status: 'pending', expiresAt: null });
      const d = makeKeyRecord({ clientId: 'zeta', status: 'active', expiresAt: T0 + 40 * DAY });
      await store().commit({ at: T0, insertKeys: [a, b, c, d] });
      const ids = async (query: Parameters<ConsoleQueries['listClients']>[0]) =>
        (await store().listClients(query)).clients.map((x) => x.clientId);
      expect(await ids({ search: 'billing', limit: 10 })).toEqual(['billing-eu', 'billing-us']);
      expect(await ids({ search: d.fingerprint.slice(0, 6), limit: 10 })).toContain('zeta');
      expect(await ids({ search: d.fingerprint.toUpperCase(), limit: 10 })).toEqual(['zeta']);
      // LIKE metacharacters are matched literally.
      expect(await ids({ search: 'search_%', limit: 10 })).toEqual(['search_%']);
      expect(await ids({ search: 'search__', limit: 10 })).toEqual([]);
      expect(await ids({ search: '%', limit: 10 })).toEqual([]);
      expect(await ids({ status: ['revoked'], limit: 10 })).toEqual(['billing-us']);
      expect(await ids({ status: ['active', 'pending'], limit: 10 })).toEqual(['billing-eu', 'search_%', 'zeta']);
      // Expiring: an accepted key due by then (a revoked key's date does not count).
      expect(await ids({ expiresBefore: T0 + 3 * DAY, limit: 10 })).toEqual(['billing-eu']);
      expect(await ids({ expiresBefore: T0 + 3 * DAY, search: 'zeta', limit: 10 })).toEqual([]);
      expect(await ids({ search: 'billing', status: ['active'], limit: 1 })).toEqual(['billing-eu']);
    });

    it('finds keys by id in one call, leaving out unknown ids', async () => {
      const a = makeKeyRecord({ clientId: 'ids-a' });
      const b = makeKeyRecord({ clientId: 'ids-b', status: 'revoked' });
      await store().commit({ at: T0, insertKeys: [a, b, makeKeyRecord({ clientId: 'ids-c' })] });
      const found = await store().findKeysByIds([b.id, 'nope', a.id, a.id]);
      expect(found.map((k) => k.id).sort()).toEqual([a.id, b.id].sort());
      expect(found.find((k) => k.id === b.id)).toEqual(b);
      expect(await store().findKeysByIds([])).toEqual([]);
    });

    it('counts every key by status', async () => {
      expect(await store().countKeysByStatus()).toEqual({ pending: 0, active: 0, inactive: 0, revoked: 0 });
      await store().commit({
        at: T0,
        insertKeys: [
          makeKeyRecord({ clientId: 'x' }),
          makeKeyRecord({ clientId: 'y' }),
          makeKeyRecord({ clientId: 'x', status: 'revoked' }),
          makeKeyRecord({ clientId: 'x', status: 'inactive' }),
        ],
      });
      expect(await store().countKeysByStatus()).toEqual({ pending: 0, active: 2, inactive: 1, revoked: 1 });
    });

    it('pages audit rows newest first, filtered by client, type and actor', async () => {
      await store().commit({
        at: T0,
        audit: [
          entry('key.issued', 'a', 'cli'),
          entry('key.issued', 'b', 'admin:ops'),
          entry('key.revoked', 'a', 'admin:ops'),
          entry('key.rotated', 'a', 'scheduler'),
          entry('key.revoked', 'b', 'cli'),
        ],
      });
      const seqs = async (query: Parameters<ConsoleQueries['listAuditPage']>[0]) => (await store().listAuditPage(query)).map((r) => r.seq);
      const all = await seqs({ limit: 10 });
      expect(all).toHaveLength(5);
      expect(all).toEqual([...all].sort((x, y) => y - x));
      const top = all[0] as number;
      expect(await seqs({ limit: 2 })).toEqual([top, top - 1]);
      expect(await seqs({ limit: 2, beforeSeq: top - 1 })).toEqual([top - 2, top - 3]);
      expect(await seqs({ limit: 10, clientId: 'a' })).toEqual([top - 1, top - 2, top - 4]);
      expect(await seqs({ limit: 10, type: 'key.revoked' })).toEqual([top, top - 2]);
      expect(await seqs({ limit: 10, actor: 'admin:ops', clientId: 'b' })).toEqual([top - 3]);
      const rows = await store().listAuditPage({ limit: 1, type: 'key.rotated' });
      expect(rows[0]).toMatchObject({ type: 'key.rotated', clientId: 'a', actor: 'scheduler', prevHash: expect.any(String) });
    });

    it('pages rotations by state, oldest first, by keyset', async () => {
      const rotations = [];
      for (let i = 0; i < 5; i++) {
        const oldKey = makeKeyRecord({ clientId: `r${i}` });
        const newKey = makeKeyRecord({ clientId: `r${i}`, status: 'pending' });
        // Two share a createdAt: the id breaks the tie.
        const rotation = makeRotationRecord(oldKey, newKey, {
          createdAt: T0 + Math.min(i, 3) * 1000,
          state: i === 4 ? 'completed' : 'delivered',
        });
        await store().commit({ at: T0, insertKeys: [oldKey, newKey], insertRotations: [rotation] });
        rotations.push(rotation);
      }
      const open = rotations.slice(0, 4).sort((x, y) => x.createdAt - y.createdAt || (x.id < y.id ? -1 : 1));
      const first = await store().listRotationsPage({ state: ['started', 'delivered'], limit: 3 });
      expect(first.map((r) => r.id)).toEqual(open.slice(0, 3).map((r) => r.id));
      const last = first[2];
      if (!last) throw new Error('expected three rotations');
      const rest = await store().listRotationsPage({
        state: ['started', 'delivered'],
        limit: 3,
        after: { createdAt: last.createdAt, id: last.id },
      });
      expect(rest.map((r) => r.id)).toEqual(open.slice(3).map((r) => r.id));
      expect((await store().listRotationsPage({ state: ['completed'], limit: 3 })).map((r) => r.clientId)).toEqual(['r4']);
    });

    it('adds usage into hourly buckets, lists them by key and hour, and trims old hours', async () => {
      const h = (n: number) => T0 + n * HOUR_MS;
      await store().addUsage([
        { keyId: 'k1', hour: h(0), valid: 3, grace: 0 },
        { keyId: 'k1', hour: h(1), valid: 1, grace: 2 },
        { keyId: 'k2', hour: h(1), valid: 5, grace: 0 },
      ]);
      await Promise.all([
        store().addUsage([{ keyId: 'k1', hour: h(1), valid: 10, grace: 1 }]),
        store().addUsage([{ keyId: 'k1', hour: h(1), valid: 100, grace: 0 }]),
      ]);
      await store().addUsage([]);
      expect(await store().listUsage({ keyIds: ['k1', 'k2', 'k3'], since: h(0) })).toEqual([
        { keyId: 'k1', hour: h(0), valid: 3, grace: 0 },
        { keyId: 'k1', hour: h(1), valid: 111, grace: 3 },
        { keyId: 'k2', hour: h(1), valid: 5, grace: 0 },
      ]);
      expect(await store().listUsage({ keyIds: ['k1'], since: h(1) })).toEqual([{ keyId: 'k1', hour: h(1), valid: 111, grace: 3 }]);
      expect(await store().listUsage({ keyIds: [], since: 0 })).toEqual([]);
      expect(await store().trimUsage(h(1))).toBe(1);
      expect(await store().listUsage({ keyIds: ['k1', 'k2'], since: 0 })).toHaveLength(2);
    });
  });
}
