import type { AuditQuery, KeyQuery, RotationQuery } from '@keyward/core';
import { AUDIT_COLUMNS, KEY_COLUMNS, ROTATION_COLUMNS } from './rows.js';
import type { SchemaNames } from './sql.js';

/** A parameterised query: SQL text plus its values. */
export interface Sql {
  readonly text: string;
  readonly values: unknown[];
}

/** Collects `WHERE` conditions with numbered parameters. */
class Where {
  readonly parts: string[] = [];
  readonly values: unknown[] = [];

  add(condition: (param: string) => string, value: unknown): void {
    if (value === undefined) return;
    this.values.push(value);
    this.parts.push(condition(`$${this.values.length}`));
  }

  sql(): string {
    return this.parts.length === 0 ? '' : ` WHERE ${this.parts.join(' AND ')}`;
  }

  limit(limit: number | undefined): string {
    if (limit === undefined) return '';
    this.values.push(limit);
    return ` LIMIT $${this.values.length}`;
  }
}

export function listKeysSql(n: SchemaNames, q: KeyQuery): Sql {
  const w = new Where();
  w.add((p) => `client_id = ${p}`, q.clientId);
  w.add((p) => `status = ANY(${p}::text[])`, q.status === undefined ? undefined : [...q.status]);
  w.add((p) => `expires_at <= ${p}`, q.expiresBefore);
  w.add((p) => `grace_until <= ${p}`, q.graceEndedBefore);
  w.add((p) => `status_changed_at <= ${p}`, q.statusChangedBefore);
  const where = w.sql();
  return { text: `SELECT ${KEY_COLUMNS} FROM ${n.keys}${where} ORDER BY created_at, id${w.limit(q.limit)}`, values: w.values };
}

export function listRotationsSql(n: SchemaNames, q: RotationQuery): Sql {
  const w = new Where();
  w.add((p) => `client_id = ${p}`, q.clientId);
  w.add((p) => `state = ANY(${p}::text[])`, q.state === undefined ? undefined : [...q.state]);
  w.add((p) => `grace_until <= ${p}`, q.graceEndedBefore);
  const where = w.sql();
  return { text: `SELECT ${ROTATION_COLUMNS} FROM ${n.rotations}${where} ORDER BY created_at, id${w.limit(q.limit)}`, values: w.values };
}

export function listAuditSql(n: SchemaNames, q: AuditQuery): Sql {
  const w = new Where();
  w.add((p) => `client_id = ${p}`, q.clientId);
  w.add((p) => `at >= ${p}`, q.since);
  w.add((p) => `seq > ${p}`, q.afterSeq);
  const where = w.sql();
  return { text: `SELECT ${AUDIT_COLUMNS} FROM ${n.audit}${where} ORDER BY seq${w.limit(q.limit)}`, values: w.values };
}

/** Escapes `%`, `_` and `\` so a fingerprint prefix matches literally in `LIKE`. */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
