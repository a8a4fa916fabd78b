import { auditScanRow, chainAuditEntry } from './audit-chain.js';
import type { AuditPageQuery, ClientPage, ClientQuery, RotationPageQuery, UsageBucket, UsageQuery } from './console/console-queries.js';
import { auditPageIn, countByStatusIn, listClientsIn, MemoryUsage, rotationsPageIn } from './console/memory-console-queries.js';
import { conflict } from './errors.js';
import type {
  AuditQuery,
  AuditScanRow,
  ChangeLogPage,
  ChangeLogQuery,
  KeyChangeEntry,
  KeyQuery,
  KeyStore,
  RotationQuery,
  WriteBatch,
} from './key-store.js';
import { type AuditRecord, type KeyRecord, type KeyStatus, OPEN_ROTATION_STATES, type RotationRecord } from './types.js';

function freezeKey(record: KeyRecord): KeyRecord {
  return Object.freeze({ ...record, scopes: Object.freeze([...record.scopes]), metadata: Object.freeze({ ...record.metadata }) });
}

function byCreated(a: { createdAt: number; id: string }, b: { createdAt: number; id: string }): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The in-memory store: a reference implementation of the `KeyStore` contract, for
 * unit tests and demos. One process only; nothing survives a restart.
 */
export class MemoryStore implements KeyStore {
  private keys = new Map<string, KeyRecord>();
  private idByHash = new Map<string, string>();
  private rotations = new Map<string, RotationRecord>();
  private audit: AuditRecord[] = [];
  private changes: KeyChangeEntry[] = [];
  private changeSeq = 0;
  private trimmedThrough = 0;

  async findKeyByHash(keyHash: string): Promise<KeyRecord | null> {
    const id = this.idByHash.get(keyHash);
    return id === undefined ? null : (this.keys.get(id) ?? null);
  }

  async findKeysByHashes(keyHashes: readonly string[]): Promise<KeyRecord[]> {
    const found: KeyRecord[] = [];
    for (const keyHash of new Set(keyHashes)) {
      const key = await this.findKeyByHash(keyHash);
      if (key !== null) found.push(key);
    }
    return found;
  }

  async findKeyById(id: string): Promise<KeyRecord | null> {
    return this.keys.get(id) ?? null;
  }

  private notices = new Set<string>();

  async claimNotice(keyId: string, notice: string, _at: number): Promise<boolean> {
    const id = `${keyId}\u0000${notice}`;
    if (this.notices.has(id)) return false;
    this.notices.add(id);
    return true;
  }

  async scanKeyHashes(after: string, limit: number): Promise<string[]> {
    return [...this.idByHash.keys()]
      .filter((hash) => hash > after)
      .sort()
      .slice(0, limit);
  }

  async findKeysByFingerprint(prefix: string): Promise<KeyRecord[]> {
    return [...this.keys.values()]
      .filter((k) => k.fingerprint.startsWith(prefix.slice(0, 8)) && (prefix.length <= 8 || k.keyHash.startsWith(prefix)))
      .sort(byCreated);
  }

  async listKeys(query: KeyQuery): Promise<KeyRecord[]> {
    const rows = [...this.keys.values()].filter(
      (k) =>
        (query.clientId === undefined || k.clientId === query.clientId) &&
        (query.status === undefined || query.status.includes(k.status)) &&
        (query.expiresBefore === undefined || (k.expiresAt !== null && k.expiresAt <= query.expiresBefore)) &&
        (query.graceEndedBefore === undefined || (k.graceUntil !== null && k.graceUntil <= query.graceEndedBefore)) &&
        (query.statusChangedBefore === undefined || k.statusChangedAt <= query.statusChangedBefore),
    );
    return rows.sort(byCreated).slice(0, query.limit ?? rows.length);
  }

  async findRotation(id: string): Promise<RotationRecord | null> {
    return this.rotations.get(id) ?? null;
  }

  async findRotationByIdempotencyKey(clientId: string, idempotencyKey: string): Promise<RotationRecord | null> {
    for (const r of this.rotations.values()) {
      if (r.clientId === clientId && r.idempotencyKey === idempotencyKey) return r;
    }
    return null;
  }

  async listRotations(query: RotationQuery): Promise<RotationRecord[]> {
    const rows = [...this.rotations.values()].filter(
      (r) =>
        (query.clientId === undefined || r.clientId === query.clientId) &&
        (query.state === undefined || query.state.includes(r.state)) &&
        (query.graceEndedBefore === undefined || r.graceUntil <= query.graceEndedBefore),
    );
    return rows.sort(byCreated).slice(0, query.limit ?? rows.length);
  }

  async commit(batch: WriteBatch): Promise<void> {
    // Work on copies and swap them in at the end: all of the batch or none of it.
    const keys = new Map(this.keys);
    const idByHash = new Map(this.idByHash);
    const rotations = new Map(this.rotations);

    for (const record of batch.insertKeys ?? []) {
      if (keys.has(record.id)) throw conflict(`key id ${record.id} already exists`, { keyId: record.id });
      if (idByHash.has(record.keyHash)) throw conflict(`key ${record.fingerprint} already exists`, { fingerprint: record.fingerprint });
      keys.set(record.id, freezeKey(record));
      idByHash.set(record.keyHash, record.id);
    }
    for (const { id, expectedVersion, patch } of batch.updateKeys ?? []) {
      const current = keys.get(id);
      if (!current || current.version !== expectedVersion) throw this.lost('key', id, expectedVersion, current?.version);
      keys.set(id, freezeKey({ ...current, ...patch, version: current.version + 1, updatedAt: batch.at }));
    }
    for (const { id, expectedVersion } of batch.deleteKeys ?? []) {
      const current = keys.get(id);
      if (!current || current.version !== expectedVersion) throw this.lost('key', id, expectedVersion, current?.version);
      keys.delete(id);
      idByHash.delete(current.keyHash);
    }
    for (const rotation of batch.insertRotations ?? []) {
      if (rotations.has(rotation.id)) throw conflict(`rotation ${rotation.id} already exists`, { rotationId: rotation.id });
      if (rotation.idempotencyKey !== null) {
        for (const r of rotations.values()) {
          if (r.clientId === rotation.clientId && r.idempotencyKey === rotation.idempotencyKey) {
            throw conflict(`idempotency key already used for client ${rotation.clientId}`, { rotationId: r.id });
          }
        }
      }
      rotations.set(rotation.id, Object.freeze({ ...rotation }));
    }
    for (const { id, expectedVersion, patch } of batch.updateRotations ?? []) {
      const current = rotations.get(id);
      if (!current || current.version !== expectedVersion) throw this.lost('rotation', id, expectedVersion, current?.version);
      rotations.set(id, Object.freeze({ ...current, ...patch, version: current.version + 1, updatedAt: batch.at }));
    }

    // The uniqueness rules a SQL store enforces with partial unique indexes.
    const pendingClients = new Set<string>();
    for (const k of keys.values()) {
      if (k.status !== 'pending') continue;
      if (pendingClients.has(k.clientId)) throw conflict(`client ${k.clientId} already has a pending key`, { clientId: k.clientId });
      pendingClients.add(k.clientId);
    }
    const openClients = new Set<string>();
    for (const r of rotations.values()) {
      if (!OPEN_ROTATION_STATES.includes(r.state)) continue;
      if (openClients.has(r.clientId)) throw conflict(`client ${r.clientId} already has a rotation in progress`, { clientId: r.clientId });
      openClients.add(r.clientId);
    }

    const audit = [...this.audit];
    for (const entry of batch.audit ?? []) {
      audit.push(Object.freeze(chainAuditEntry(audit.at(-1) ?? null, entry)));
    }
    // The change log, as the SQL stores' triggers write it: one row per key written.
    const changes: KeyChangeEntry[] = [];
    const logged = (keyHash: string, status: KeyChangeEntry['status'], version: number) =>
      changes.push(Object.freeze({ seq: this.changeSeq + changes.length + 1, keyHash, status, version, at: batch.at }));
    for (const record of batch.insertKeys ?? []) logged(record.keyHash, record.status, record.version);
    for (const { id } of batch.updateKeys ?? []) {
      const k = keys.get(id) as KeyRecord;
      logged(k.keyHash, k.status, k.version);
    }
    for (const { id } of batch.deleteKeys ?? []) {
      const k = this.keys.get(id) as KeyRecord;
      logged(k.keyHash, 'deleted', k.version);
    }
    this.changeSeq += changes.length;
    this.changes.push(...changes);
    this.keys = keys;
    this.idByHash = idByHash;
    this.rotations = rotations;
    this.audit = audit;
  }

  async touchLastUsed(uses: readonly { readonly id: string; readonly at: number }[]): Promise<void> {
    for (const { id, at } of uses) {
      const current = this.keys.get(id);
      if (current && (current.lastUsedAt === null || current.lastUsedAt < at)) {
        this.keys.set(id, Object.freeze({ ...current, lastUsedAt: at }));
      }
    }
  }

  async listAudit(query: AuditQuery): Promise<AuditRecord[]> {
    const rows = this.audit.filter(
      (a) =>
        (query.clientId === undefined || a.clientId === query.clientId) &&
        (query.since === undefined || a.at >= query.since) &&
        (query.afterSeq === undefined || a.seq > query.afterSeq),
    );
    return rows.slice(0, query.limit ?? rows.length);
  }

  async scanAuditForVerify(afterSeq: number, limit: number): Promise<AuditScanRow[]> {
    return (await this.listAudit({ afterSeq, limit })).map(auditScanRow);
  }

  async readChanges(query: ChangeLogQuery): Promise<ChangeLogPage> {
    const gap = query.afterSeq !== undefined && query.afterSeq < this.trimmedThrough;
    const rows = this.changes.filter((c) => (query.afterSeq === undefined ? c.at >= query.since : c.seq > query.afterSeq));
    const page = rows.slice(0, query.limit);
    const lastSeq = page.at(-1)?.seq ?? (query.afterSeq === undefined ? this.changeSeq : Math.max(query.afterSeq, this.trimmedThrough));
    return { changes: page, lastSeq, gap };
  }

  async trimChanges(before: number): Promise<number> {
    // A contiguous prefix by seq, as the SQL stores trim it.
    let count = 0;
    while (count < this.changes.length && (this.changes[count] as KeyChangeEntry).at < before) count++;
    if (count === 0) return 0;
    this.trimmedThrough = (this.changes[count - 1] as KeyChangeEntry).seq;
    this.changes = this.changes.slice(count);
    return count;
  }

  private usage = new MemoryUsage();

  async listClients(query: ClientQuery): Promise<ClientPage> {
    return listClientsIn(this.keys.values(), query);
  }

  async findKeysByIds(ids: readonly string[]): Promise<KeyRecord[]> {
    return [...new Set(ids)].map((id) => this.keys.get(id)).filter((k): k is KeyRecord => k !== undefined);
  }

  async countKeysByStatus(): Promise<Record<KeyStatus, number>> {
    return countByStatusIn(this.keys.values());
  }

  async listAuditPage(query: AuditPageQuery): Promise<AuditRecord[]> {
    return auditPageIn(this.audit, query);
  }

  async listRotationsPage(query: RotationPageQuery): Promise<RotationRecord[]> {
    return rotationsPageIn(this.rotations.values(), query);
  }

  async addUsage(buckets: readonly UsageBucket[]): Promise<void> {
    this.usage.add(buckets);
  }

  async listUsage(query: UsageQuery): Promise<UsageBucket[]> {
    return this.usage.list(query);
  }

  async trimUsage(before: number): Promise<number> {
    return this.usage.trim(before);
  }

  /** Test helper: replaces a stored audit row as an attacker with database access would. */
  tamperAudit(seq: number, change: (row: AuditRecord) => AuditRecord | null): void {
    const index = this.audit.findIndex((a) => a.seq === seq);
    if (index < 0) return;
    const next = change(this.audit[index] as AuditRecord);
    if (next === null) this.audit.splice(index, 1);
    else this.audit[index] = next;
  }

  async close(): Promise<void> {}

  private lost(what: string, id: string, expected: number, actual: number | undefined) {
    return conflict(
      actual === undefined
        ? `${what} ${id} no longer exists`
        : `${what} ${id} changed concurrently (expected version ${expected}, found ${actual})`,
      { [`${what}Id`]: id, expectedVersion: expected, actualVersion: actual },
    );
  }
}
