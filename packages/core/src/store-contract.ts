import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditScanRow, auditScanRowHash, verifyAuditRows } from './audit-chain.js';
import { consoleQueriesContract } from './console/console-queries-contract.js';
import { ErrorCodes } from './error-codes.js';
import { hasChangeLog, hasKeyHashScan, type KeyChangeLog, type KeyStore } from './key-store.js';
import { makeKeyRecord, makeRotationRecord } from './store-contract-records.js';
import type { AuditEntry, KeyRecord } from './types.js';
import { immutableResultContract } from './verify/immutable-result-contract.js';

export { makeKeyRecord, makeRotationRecord } from './store-contract-records.js';

export interface ContractSubject {
  store: KeyStore;
  /** Drops whatever the subject created (schema, file, connections). */
  cleanup?: () => Promise<void>;
}

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;

function audit(type: string, key: KeyRecord | null, at = T0): AuditEntry {
  return {
    at,
    type,
    clientId: key?.clientId ?? null,
    keyId: key?.id ?? null,
    fingerprint: key?.fingerprint ?? null,
    rotationId: null,
    actor: 'test',
    reason: null,
    data: { n: 1 },
  };
}

async function expectConflict(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code: ErrorCodes.CONFLICT });
}

/**
 * The contract every `KeyStore` must pass. Call it from a test file with a factory
 * that builds a fresh, empty store for each test:
 *
 * ```ts
 * runKeyStoreContract('SqliteStore', async () => ({ store: new SqliteStore(':memory:') }));
 * ```
 */
export function runKeyStoreContract(name: string, create: () => Promise<ContractSubject>): void {
  describe(`KeyStore contract: ${name}`, () => {
    let subject: ContractSubject;
    let store: KeyStore;
    beforeEach(async () => {
      subject = await create();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.store.close();
      await subject.cleanup?.();
    });

    immutableResultContract(() => store);
    consoleQueriesContract(name, () => store);

    describe('lookups', () => {
      it('finds a key by hash, id and fingerprint prefix, with every field intact', async () => {
        const key = makeKeyRecord({ graceUntil: T0 + HOUR, lastUsedAt: T0 + 5, expiresAt: null, replaces: randomUUID() });
        await store.commit({ at: T0, insertKeys: [key] });
        expect(await store.findKeyByHash(key.keyHash)).toEqual(key);
        expect(await store.findKeyById(key.id)).toEqual(key);
        expect(await store.findKeysByFingerprint(key.fingerprint.slice(0, 4))).toEqual([key]);
      });

      it('finds many keys by hash at once, each once, leaving out what it does not hold', async () => {
        if (typeof store.findKeysByHashes !== 'function') return; // optional
        const keys = Array.from({ length: 5 }, (_, i) => makeKeyRecord({ clientId: `bulk-${i}` }));
        await store.commit({ at: T0, insertKeys: keys });
        const [first, , , fourth] = keys as [KeyRecord, KeyRecord, KeyRecord, KeyRecord];
        const byId = (a: KeyRecord, b: KeyRecord) => a.id.localeCompare(b.id);
        const found = await store.findKeysByHashes([fourth.keyHash, '0'.repeat(64), first.keyHash, fourth.keyHash]);
        expect([...found].sort(byId)).toEqual([first, fourth].sort(byId));
        expect(await store.findKeysByHashes([])).toEqual([]);
      });

      it('tells apart keys whose fingerprints collide by a longer prefix of the hash', async () => {
        const a = makeKeyRecord({ keyHash: `0123abcd1${'0'.repeat(55)}`, clientId: 'twin-a' });
        const b = makeKeyRecord({ keyHash: `0123abcd2${'0'.repeat(55)}`, clientId: 'twin-b', createdAt: T0 + 1 });
        await store.commit({ at: T0, insertKeys: [a, b] });
        expect((await store.findKeysByFingerprint('0123abcd')).map((k) => k.id)).toEqual([a.id, b.id]);
        expect(await store.findKeysByFingerprint('0123abcd2')).toEqual([b]);
        expect(await store.findKeysByFingerprint(b.keyHash)).toEqual([b]);
        expect(await store.findKeysByFingerprint('0123abcd3')).toEqual([]);
      });

      it('answers null or [] for what it does not hold', async () => {
        expect(await store.findKeyByHash('0'.repeat(64))).toBeNull();
        expect(await store.findKeyById(randomUUID())).toBeNull();
        expect(await store.findKeysByFingerprint('zzzzzzzz')).toEqual([]);
        expect(await store.findRotation(randomUUID())).toBeNull();
        expect(await store.findRotationByIdempotencyKey('acme', 'nope')).toBeNull();
      });

      it('returns copies: mutating a result or an input does not change the store', async () => {
        const key = makeKeyRecord();
        const input = { ...key, scopes: [...key.scopes] };
        await store.commit({ at: T0, insertKeys: [input] });
        input.scopes.push('admin');
        const found = (await store.findKeyById(key.id)) as KeyRecord;
        expect(found.scopes).toEqual(['orders:read']);
        try {
          (found.scopes as string[]).push('admin');
        } catch {
          // frozen is fine too
        }
        expect((await store.findKeyById(key.id))?.scopes).toEqual(['orders:read']);
      });
    });

    describe('compare-and-set', () => {
      it('updates bump the version by one and stamp updatedAt', async () => {
        const key = makeKeyRecord();
        await store.commit({ at: T0, insertKeys: [key] });
        await store.commit({ at: T0 + 7, updateKeys: [{ id: key.id, expectedVersion: 1, patch: { graceUntil: T0 + HOUR } }] });
        expect(await store.findKeyById(key.id)).toEqual({ ...key, graceUntil: T0 + HOUR, version: 2, updatedAt: T0 + 7 });
      });

      it('rejects a stale version and writes nothing of the batch', async () => {
        const key = makeKeyRecord();
        await store.commit({ at: T0, insertKeys: [key] });
        await store.commit({ at: T0, updateKeys: [{ id: key.id, expectedVersion: 1, patch: { scopes: ['a'] } }] });
        const other = makeKeyRecord({ clientId: 'other' });
        await expectConflict(
          store.commit({
            at: T0,
            insertKeys: [other],
            updateKeys: [{ id: key.id, expectedVersion: 1, patch: { status: 'revoked' } }],
            audit: [audit('key.revoked', key)],
          }),
        );
        expect(await store.findKeyById(other.id)).toBeNull();
        expect((await store.findKeyById(key.id))?.status).toBe('active');
        expect(await store.listAudit({})).toEqual([]);
      });

      it('rejects an update or delete of a key that does not exist', async () => {
        await expectConflict(
          store.commit({ at: T0, updateKeys: [{ id: randomUUID(), expectedVersion: 1, patch: { status: 'revoked' } }] }),
        );
        await expectConflict(store.commit({ at: T0, deleteKeys: [{ id: randomUUID(), expectedVersion: 1 }] }));
      });

      it('rejects a duplicate key hash', async () => {
        const key = makeKeyRecord();
        await store.commit({ at: T0, insertKeys: [key] });
        await expectConflict(store.commit({ at: T0, insertKeys: [makeKeyRecord({ keyHash: key.keyHash, clientId: 'other' })] }));
      });

      it("keeps a rotation's grace-from-first-use fields, and records its first use by compare-and-set", async () => {
        const oldKey = makeKeyRecord();
        const newKey = makeKeyRecord({ status: 'pending' });
        const rotation = makeRotationRecord(oldKey, newKey, { graceFrom: 'first-use', graceMs: 300_000, graceUntil: T0 + 7 * 24 * HOUR });
        await store.commit({ at: T0, insertKeys: [oldKey, newKey], insertRotations: [rotation] });
        expect(await store.findRotation(rotation.id)).toEqual(rotation);
        const patch = { firstUsedAt: T0 + 5, graceUntil: T0 + 5 + 300_000 };
        await store.commit({ at: T0 + 5, updateRotations: [{ id: rotation.id, expectedVersion: 1, patch }] });
        // A second process that read the rotation before the first use loses the race.
        await expectConflict(store.commit({ at: T0 + 6, updateRotations: [{ id: rotation.id, expectedVersion: 1, patch }] }));
        expect(await store.findRotation(rotation.id)).toEqual({ ...rotation, ...patch, updatedAt: T0 + 5, version: 2 });
        expect((await store.listRotations({ clientId: rotation.clientId }))[0]).toMatchObject({
          graceFrom: 'first-use',
          firstUsedAt: T0 + 5,
        });
      });

      it('updates rotations by compare-and-set too', async () => {
        const oldKey = makeKeyRecord();
        const newKey = makeKeyRecord({ status: 'pending' });
        const rotation = makeRotationRecord(oldKey, newKey);
        await store.commit({ at: T0, insertKeys: [oldKey, newKey], insertRotations: [rotation] });
        await store.commit({
          at: T0 + 1,
          updateRotations: [{ id: rotation.id, expectedVersion: 1, patch: { state: 'completed', completedAt: T0 + 1 } }],
        });
        await expectConflict(
          store.commit({ at: T0 + 2, updateRotations: [{ id: rotation.id, expectedVersion: 1, patch: { state: 'aborted' } }] }),
        );
        expect(await store.findRotation(rotation.id)).toEqual({
          ...rotation,
          state: 'completed',
          completedAt: T0 + 1,
          updatedAt: T0 + 1,
          version: 2,
        });
      });

      it('lets exactly one of many concurrent writers win', async () => {
        const key = makeKeyRecord();
        await store.commit({ at: T0, insertKeys: [key] });
        const attempts = Array.from({ length: 20 }, (_, i) =>
          store.commit({ at: T0 + i, updateKeys: [{ id: key.id, expectedVersion: 1, patch: { revokedReason: `r${i}` } }] }),
        );
        const results = await Promise.allSettled(attempts);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: ErrorCodes.CONFLICT });
        expect((await store.findKeyById(key.id))?.version).toBe(2);
      });
    });

    describe('uniqueness rules', () => {
      it('holds at most one pending key per client', async () => {
        await store.commit({ at: T0, insertKeys: [makeKeyRecord({ status: 'pending' })] });
        await expectConflict(store.commit({ at: T0, insertKeys: [makeKeyRecord({ status: 'pending' })] }));
        await store.commit({ at: T0, insertKeys: [makeKeyRecord({ status: 'pending', clientId: 'other' })] });
      });

      it('lets one of many concurrent pending inserts for a client win', async () => {
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, () => store.commit({ at: T0, insertKeys: [makeKeyRecord({ status: 'pending' })] })),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect(await store.listKeys({ clientId: 'acme', status: ['pending'] })).toHaveLength(1);
      });

      it('holds at most one open rotation per client, and allows the next once it closes', async () => {
        const oldKey = makeKeyRecord();
        const a = makeKeyRecord({ status: 'pending' });
        const first = makeRotationRecord(oldKey, a);
        await store.commit({ at: T0, insertKeys: [oldKey, a], insertRotations: [first] });
        const b = makeKeyRecord({ status: 'active' });
        await expectConflict(
          store.commit({ at: T0, insertKeys: [b], insertRotations: [makeRotationRecord(oldKey, b, { state: 'started' })] }),
        );
        expect(await store.findKeyById(b.id)).toBeNull();
        await store.commit({ at: T0, updateRotations: [{ id: first.id, expectedVersion: 1, patch: { state: 'aborted' } }] });
        await store.commit({ at: T0, insertKeys: [b], insertRotations: [makeRotationRecord(oldKey, b)] });
      });

      it('keeps idempotency keys unique per client and finds rotations by them', async () => {
        const oldKey = makeKeyRecord();
        const a = makeKeyRecord();
        const first = makeRotationRecord(oldKey, a, { idempotencyKey: 'tok-1', state: 'completed' });
        await store.commit({ at: T0, insertKeys: [oldKey, a], insertRotations: [first] });
        expect(await store.findRotationByIdempotencyKey('acme', 'tok-1')).toEqual(first);
        expect(await store.findRotationByIdempotencyKey('other', 'tok-1')).toBeNull();
        await expectConflict(
          store.commit({ at: T0, insertRotations: [makeRotationRecord(oldKey, a, { idempotencyKey: 'tok-1', state: 'completed' })] }),
        );
        await store.commit({
          at: T0,
          insertRotations: [makeRotationRecord({ ...oldKey, clientId: 'other' }, a, { idempotencyKey: 'tok-1', state: 'completed' })],
        });
      });
    });

    describe('transitions', () => {
      it('stores every lifecycle transition with its fields', async () => {
        const pending = makeKeyRecord({ status: 'pending' });
        const active = makeKeyRecord({ clientId: 'b' });
        await store.commit({ at: T0, insertKeys: [pending, active] });
        await store.commit({
          at: T0 + 1,
          updateKeys: [
            { id: pending.id, expectedVersion: 1, patch: { status: 'active', statusChangedAt: T0 + 1 } },
            { id: active.id, expectedVersion: 1, patch: { status: 'inactive', statusChangedAt: T0 + 1 } },
          ],
        });
        expect((await store.findKeyById(pending.id))?.status).toBe('active');
        expect((await store.findKeyById(active.id))?.status).toBe('inactive');
        await store.commit({
          at: T0 + 2,
          updateKeys: [
            {
              id: pending.id,
              expectedVersion: 2,
              patch: { status: 'revoked', revokedAt: T0 + 2, revokedReason: 'compromised', statusChangedAt: T0 + 2 },
            },
            {
              id: active.id,
              expectedVersion: 2,
              patch: { status: 'revoked', revokedAt: T0 + 2, revokedReason: 'offboarded', statusChangedAt: T0 + 2 },
            },
          ],
        });
        const revoked = await store.findKeyById(pending.id);
        expect(revoked).toMatchObject({
          status: 'revoked',
          revokedAt: T0 + 2,
          revokedReason: 'compromised',
          statusChangedAt: T0 + 2,
          version: 3,
        });
        const fromPending = makeKeyRecord({ status: 'pending', clientId: 'c' });
        await store.commit({ at: T0, insertKeys: [fromPending] });
        await store.commit({
          at: T0 + 3,
          updateKeys: [
            { id: fromPending.id, expectedVersion: 1, patch: { status: 'revoked', revokedAt: T0 + 3, revokedReason: 'aborted' } },
          ],
        });
        expect((await store.findKeyById(fromPending.id))?.status).toBe('revoked');
      });

      it('applies many updates of one batch together, each with its own values, and refuses all of them if one is stale', async () => {
        const keys = Array.from({ length: 6 }, (_, i) => makeKeyRecord({ clientId: `many-${i}`, scopes: ['read'] }));
        await store.commit({ at: T0, insertKeys: keys });
        const revoke = (i: number) => ({
          status: 'revoked' as const,
          revokedAt: T0 + i,
          revokedReason: `leaked: ${i}`,
          statusChangedAt: T0 + i,
        });
        const stale = keys.map((k, i) => ({ id: k.id, expectedVersion: i === 4 ? 7 : 1, patch: revoke(i) }));
        await expectConflict(store.commit({ at: T0 + 1, updateKeys: stale }));
        for (const k of keys) expect(await store.findKeyById(k.id)).toMatchObject({ status: 'active', version: 1 });
        await store.commit({ at: T0 + 1, updateKeys: keys.map((k, i) => ({ id: k.id, expectedVersion: 1, patch: revoke(i) })) });
        for (const [i, k] of keys.entries()) {
          expect(await store.findKeyById(k.id)).toMatchObject({
            status: 'revoked',
            revokedAt: T0 + i,
            revokedReason: `leaked: ${i}`,
            statusChangedAt: T0 + i,
            updatedAt: T0 + 1,
            version: 2,
            scopes: ['read'],
          });
        }
        const patch = (i: number) => ({ scopes: [`s${i}`, 'x'], metadata: { n: i, tag: `t${i}` }, expiresAt: null, graceUntil: T0 + i });
        await store.commit({ at: T0 + 2, updateKeys: keys.map((k, i) => ({ id: k.id, expectedVersion: 2, patch: patch(i) })) });
        for (const [i, k] of keys.entries()) {
          expect(await store.findKeyById(k.id)).toMatchObject({ ...patch(i), status: 'revoked', version: 3 });
        }
      });

      it('can clear nullable fields', async () => {
        const key = makeKeyRecord({ graceUntil: T0 + HOUR, rotationId: randomUUID() });
        await store.commit({ at: T0, insertKeys: [key] });
        await store.commit({ at: T0, updateKeys: [{ id: key.id, expectedVersion: 1, patch: { graceUntil: null, expiresAt: null } }] });
        expect(await store.findKeyById(key.id)).toMatchObject({ graceUntil: null, expiresAt: null, rotationId: key.rotationId });
      });
    });

    describe('listing', () => {
      it('lists by client and status, oldest first, with a limit', async () => {
        const a1 = makeKeyRecord({ createdAt: T0 + 2 });
        const a2 = makeKeyRecord({ createdAt: T0 + 1, status: 'revoked' });
        const b1 = makeKeyRecord({ clientId: 'b' });
        await store.commit({ at: T0, insertKeys: [a1, a2, b1] });
        expect((await store.listKeys({ clientId: 'acme' })).map((k) => k.id)).toEqual([a2.id, a1.id]);
        expect((await store.listKeys({ clientId: 'acme', status: ['active'] })).map((k) => k.id)).toEqual([a1.id]);
        expect(await store.listKeys({ status: ['active', 'revoked'], limit: 2 })).toHaveLength(2);
        expect(await store.listKeys({ clientId: 'nobody' })).toEqual([]);
      });

      it('lists by due time: expiring, grace ended, retired long enough', async () => {
        const soon = makeKeyRecord({ expiresAt: T0 + HOUR });
        const later = makeKeyRecord({ clientId: 'b', expiresAt: T0 + 100 * HOUR });
        const never = makeKeyRecord({ clientId: 'c', expiresAt: null });
        const graced = makeKeyRecord({ clientId: 'd', graceUntil: T0 + 2 * HOUR });
        const oldRevoked = makeKeyRecord({ clientId: 'e', status: 'revoked', statusChangedAt: T0 - 40 * 24 * HOUR });
        const newRevoked = makeKeyRecord({ clientId: 'f', status: 'revoked', statusChangedAt: T0 });
        await store.commit({ at: T0, insertKeys: [soon, later, never, graced, oldRevoked, newRevoked] });
        const ids = (keys: KeyRecord[]) => keys.map((k) => k.id).sort();
        expect(ids(await store.listKeys({ status: ['active'], expiresBefore: T0 + 2 * HOUR }))).toEqual([soon.id]);
        expect(ids(await store.listKeys({ graceEndedBefore: T0 + 3 * HOUR }))).toEqual([graced.id]);
        expect(ids(await store.listKeys({ graceEndedBefore: T0 + HOUR }))).toEqual([]);
        expect(ids(await store.listKeys({ status: ['revoked', 'inactive'], statusChangedBefore: T0 - 30 * 24 * HOUR }))).toEqual([
          oldRevoked.id,
        ]);
      });

      it('lists rotations by client, state and grace end', async () => {
        const k = makeKeyRecord();
        const open = makeRotationRecord(k, k, { graceUntil: T0 + HOUR });
        const done = makeRotationRecord(k, k, { state: 'completed', graceUntil: T0 - HOUR, createdAt: T0 - 1 });
        const elsewhere = makeRotationRecord({ ...k, clientId: 'b' }, k, { state: 'started', graceUntil: T0 + 5 * HOUR });
        await store.commit({ at: T0, insertRotations: [open, done, elsewhere] });
        expect((await store.listRotations({ clientId: 'acme' })).map((r) => r.id)).toEqual([done.id, open.id]);
        expect((await store.listRotations({ state: ['started', 'delivered'] })).map((r) => r.id).sort()).toEqual(
          [open.id, elsewhere.id].sort(),
        );
        expect((await store.listRotations({ state: ['started', 'delivered'], graceEndedBefore: T0 + 2 * HOUR })).map((r) => r.id)).toEqual([
          open.id,
        ]);
        expect(await store.listRotations({ limit: 1 })).toHaveLength(1);
      });
    });

    describe('purge', () => {
      it('deletes by compare-and-set and forgets the hash', async () => {
        const key = makeKeyRecord({ status: 'revoked' });
        await store.commit({ at: T0, insertKeys: [key] });
        await expectConflict(store.commit({ at: T0, deleteKeys: [{ id: key.id, expectedVersion: 2 }] }));
        await store.commit({ at: T0, deleteKeys: [{ id: key.id, expectedVersion: 1 }], audit: [audit('key.purged', key)] });
        expect(await store.findKeyById(key.id)).toBeNull();
        expect(await store.findKeyByHash(key.keyHash)).toBeNull();
        expect(await store.listAudit({})).toHaveLength(1);
      });
    });

    describe('notices', () => {
      it('records a notice once per key, whoever asks first', async () => {
        expect(typeof store.claimNotice).toBe('function');
        if (typeof store.claimNotice !== 'function') return;
        const claims = await Promise.all(Array.from({ length: 5 }, () => store.claimNotice?.('key-1', 'expiring:3d', T0)));
        expect(claims.filter(Boolean)).toHaveLength(1);
        expect(await store.claimNotice('key-1', 'expiring:1d', T0)).toBe(true);
        expect(await store.claimNotice('key-2', 'expiring:3d', T0)).toBe(true);
        expect(await store.claimNotice('key-1', 'expiring:3d', T0 + 1)).toBe(false);
      });
    });

    describe('key hash scan', () => {
      it('pages through every key hash of any status in ascending order, and forgets purged ones', async () => {
        // Every store keyward ships scans (the known-keys filter needs it).
        expect(hasKeyHashScan(store)).toBe(true);
        if (!hasKeyHashScan(store)) return;
        const keys = ['active', 'pending', 'inactive', 'revoked', 'active'].map((status, i) =>
          makeKeyRecord({ status: status as KeyRecord['status'], clientId: `scan-${i}` }),
        );
        for (const key of keys) await store.commit({ at: T0, insertKeys: [key] });
        const sorted = keys.map((k) => k.keyHash).sort();
        const pages: string[][] = [];
        let after = '';
        for (;;) {
          const page = await store.scanKeyHashes(after, 2);
          pages.push(page);
          if (page.length < 2) break;
          after = page[page.length - 1] as string;
        }
        expect(pages.flat()).toEqual(sorted);
        expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
        expect(await store.scanKeyHashes(sorted[4] as string, 10)).toEqual([]);
        const revoked = keys[3] as KeyRecord;
        await store.commit({ at: T0, deleteKeys: [{ id: revoked.id, expectedVersion: 1 }] });
        expect(await store.scanKeyHashes('', 10)).toEqual(sorted.filter((h) => h !== revoked.keyHash));
      });
    });

    describe('last used', () => {
      it('records uses in bulk, never backwards, without a version bump', async () => {
        const a = makeKeyRecord();
        const b = makeKeyRecord({ clientId: 'b' });
        await store.commit({ at: T0, insertKeys: [a, b] });
        await store.touchLastUsed([
          { id: a.id, at: T0 + 10 },
          { id: b.id, at: T0 + 20 },
          { id: randomUUID(), at: T0 },
        ]);
        await store.touchLastUsed([{ id: a.id, at: T0 + 5 }]);
        expect(await store.findKeyById(a.id)).toMatchObject({ lastUsedAt: T0 + 10, version: 1 });
        expect(await store.findKeyById(b.id)).toMatchObject({ lastUsedAt: T0 + 20, version: 1 });
        await store.touchLastUsed([]);
      });
    });

    describe('audit log', () => {
      it('appends entries in order as an intact hash chain, and filters them', async () => {
        const a = makeKeyRecord();
        const b = makeKeyRecord({ clientId: 'b' });
        await store.commit({ at: T0, insertKeys: [a], audit: [audit('key.issued', a, T0)] });
        await store.commit({ at: T0, insertKeys: [b], audit: [audit('key.issued', b, T0 + 10), audit('key.rotated', b, T0 + 20)] });
        await store.commit({ at: T0, audit: [{ ...audit('key.revoked', a, T0 + 30), data: { z: 1, a: { y: [1, 'x'], b: null } } }] });
        const rows = await store.listAudit({});
        expect(rows.map((r) => [r.seq, r.type, r.clientId])).toEqual([
          [1, 'key.issued', 'acme'],
          [2, 'key.issued', 'b'],
          [3, 'key.rotated', 'b'],
          [4, 'key.revoked', 'acme'],
        ]);
        expect(rows[3]?.data).toEqual({ z: 1, a: { y: [1, 'x'], b: null } });
        expect(verifyAuditRows(rows)).toMatchObject({ ok: true, count: 4 });
        expect((await store.listAudit({ clientId: 'b' })).map((r) => r.seq)).toEqual([2, 3]);
        expect((await store.listAudit({ since: T0 + 20 })).map((r) => r.seq)).toEqual([3, 4]);
        expect((await store.listAudit({ afterSeq: 1, limit: 2 })).map((r) => r.seq)).toEqual([2, 3]);
      });

      it('scanAuditForVerify gives the rows listAudit gives as scan rows (the core’s rendering, exactly), from a seq, at most a limit', async () => {
        if (store.scanAuditForVerify === undefined) throw new Error(`${name} has no scanAuditForVerify (the chain verifier's cheap read)`);
        const a = makeKeyRecord();
        // Every kind of character a renderer could escape differently: quote, backslash, controls, DEL, U+2028, non-ASCII, astral.
        const odd = {
          ...audit('key.revoked', a, T0 + 30),
          rotationId: 'r1',
          reason: 'why "quoted" \\ é \n\t\b\f\r\u0001\u001f\u007f\u2028 😀 </script>',
          data: { z: 1, a: { y: [1, 'x\n"'], b: null }, 'é\u0001': -0.5 },
        };
        await store.commit({ at: T0, insertKeys: [a], audit: [audit('key.issued', a, T0), audit('key.rotated', null, T0 + 10), odd] });
        const expected = (await store.listAudit({})).map(auditScanRow);
        expect(await store.scanAuditForVerify(0, 10)).toEqual(expected);
        expect(await store.scanAuditForVerify(1, 1)).toEqual(expected.slice(1, 2));
        expect(await store.scanAuditForVerify(3, 10)).toEqual([]);
        const rows = await store.scanAuditForVerify(0, 10);
        expect(rows.map((r) => auditScanRowHash(r) === r[5])).toEqual([true, true, true]);
        expect(rows.map((r) => r[0])).toEqual([1, 2, 3]);
      });

      it('keeps the chain intact under concurrent appends', async () => {
        await Promise.all(
          Array.from({ length: 15 }, (_, i) =>
            store.commit({ at: T0, audit: [audit('key.issued', null, T0 + i), audit('key.rotated', null, T0 + i)] }),
          ),
        );
        const rows = await store.listAudit({});
        expect(rows).toHaveLength(30);
        expect(verifyAuditRows(rows)).toMatchObject({ ok: true, count: 30 });
      });
    });
    describe('change log', () => {
      const FAR = 8_000_000_000_000; // year 2223: after every row any store stamps
      const log = () => {
        if (!hasChangeLog(store)) throw new Error(`${name} keeps no change log (readChanges/trimChanges)`);
        return store as KeyStore & KeyChangeLog;
      };
      const head = async () => (await log().readChanges({ since: FAR, limit: 1 })).lastSeq;
      const changesAfter = async (seq: number) => (await log().readChanges({ afterSeq: seq, limit: 100 })).changes;

      it('logs every key insert, status or version change and delete, in commit order, and nothing else', async () => {
        const start = await head();
        const a = makeKeyRecord();
        const b = makeKeyRecord({ clientId: 'b', status: 'pending' });
        await store.commit({ at: T0, insertKeys: [a, b] });
        await store.commit({ at: T0, updateKeys: [{ id: a.id, expectedVersion: 1, patch: { status: 'revoked', revokedAt: T0 } }] });
        await store.touchLastUsed([{ id: b.id, at: T0 + 1 }]);
        await store.commit({ at: T0, audit: [audit('key.issued', null)] });
        await expectConflict(store.commit({ at: T0, updateKeys: [{ id: b.id, expectedVersion: 7, patch: { status: 'active' } }] }));
        await store.commit({ at: T0, deleteKeys: [{ id: a.id, expectedVersion: 2 }] });
        const changes = await changesAfter(start);
        // Within one commit the order is the store's; across commits it is commit order.
        const inserted = changes.slice(0, 2).sort((x, y) => (x.keyHash === a.keyHash ? -1 : y.keyHash === a.keyHash ? 1 : 0));
        expect(new Set(changes.slice(0, 2).map((c) => c.seq - start))).toEqual(new Set([1, 2]));
        expect(inserted.map((c) => [c.keyHash, c.status, c.version])).toEqual([
          [a.keyHash, 'active', 1],
          [b.keyHash, 'pending', 1],
        ]);
        expect(changes.slice(2).map((c) => [c.seq - start, c.keyHash, c.status, c.version])).toEqual([
          [3, a.keyHash, 'revoked', 2],
          [4, a.keyHash, 'deleted', 2],
        ]);
        expect(changes.every((c) => typeof c.at === 'number' && Number.isFinite(c.at))).toBe(true);
        expect(await head()).toBe(start + 4);
      });

      it('pages by position and by time; an empty read answers the head', async () => {
        const start = await head();
        const keys = Array.from({ length: 5 }, (_, i) => makeKeyRecord({ clientId: `c${i}` }));
        for (const key of keys) await store.commit({ at: T0, insertKeys: [key] });
        const first = await log().readChanges({ afterSeq: start, limit: 2 });
        expect(first.changes.map((c) => c.keyHash)).toEqual([keys[0]?.keyHash, keys[1]?.keyHash]);
        expect(first).toMatchObject({ lastSeq: start + 2, gap: false });
        const rest = await log().readChanges({ afterSeq: first.lastSeq, limit: 10 });
        expect(rest.changes).toHaveLength(3);
        expect(rest.lastSeq).toBe(start + 5);
        expect(await log().readChanges({ afterSeq: rest.lastSeq, limit: 10 })).toEqual({ changes: [], lastSeq: start + 5, gap: false });
        const byTime = await log().readChanges({ since: 0, limit: 1000 });
        expect(byTime.changes.map((c) => c.keyHash).slice(-5)).toEqual(keys.map((k) => k.keyHash));
        expect(await log().readChanges({ since: FAR, limit: 10 })).toEqual({ changes: [], lastSeq: start + 5, gap: false });
      });

      it('numbers concurrent commits densely, each change once', async () => {
        const start = await head();
        const keys = Array.from({ length: 12 }, (_, i) => makeKeyRecord({ clientId: `p${i}` }));
        await Promise.all(keys.map((key) => store.commit({ at: T0, insertKeys: [key], audit: [audit('key.issued', key)] })));
        const changes = await changesAfter(start);
        expect(changes.map((c) => c.seq)).toEqual(keys.map((_, i) => start + i + 1));
        expect(new Set(changes.map((c) => c.keyHash))).toEqual(new Set(keys.map((k) => k.keyHash)));
      });

      it('trims old changes; a reader that had not got that far learns of the gap; seqs are never reused', async () => {
        const start = await head();
        const a = makeKeyRecord();
        await store.commit({ at: T0, insertKeys: [a] });
        await store.commit({ at: T0, updateKeys: [{ id: a.id, expectedVersion: 1, patch: { status: 'revoked' } }] });
        expect(await log().trimChanges(0)).toBe(0);
        expect(await log().trimChanges(FAR)).toBeGreaterThanOrEqual(2);
        const missed = await log().readChanges({ afterSeq: start, limit: 10 });
        expect(missed.gap).toBe(true);
        expect(missed.changes).toEqual([]);
        expect(missed.lastSeq).toBe(start + 2);
        const b = makeKeyRecord({ clientId: 'b' });
        await store.commit({ at: T0, insertKeys: [b] });
        expect(await changesAfter(start + 2)).toMatchObject([{ seq: start + 3, keyHash: b.keyHash }]);
        expect((await log().readChanges({ afterSeq: start + 2, limit: 10 })).gap).toBe(false);
      });
    });
  });
}
