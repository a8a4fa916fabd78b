import type { CustomTypesConfig, QueryArrayConfig } from 'pg';
import { AUDIT_COLUMNS } from './rows.js';
import type { SchemaNames } from './sql.js';

const INT8_OID = 20;
const JSON_OID = 114;
const JSONB_OID = 3802;

function text(value: string): string {
  return value;
}

/**
 * Column parsers for the verify scan, whatever the pool's global `pg.types` say: `bigint`
 * as a number (the core's milliseconds and seq, as `auditFromRow` gives them), `jsonb`
 * parsed, every text column as it came.
 */
const SCAN_TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number) => {
    if (oid === INT8_OID) return Number;
    if (oid === JSONB_OID || oid === JSON_OID) return JSON.parse;
    return text;
  }) as CustomTypesConfig['getTypeParser'],
};

/**
 * The keyset page `scanAuditForVerify` reads: the columns in `AuditScanRow` order, as
 * arrays (`rowMode: 'array'`: no object per row), a named statement (planned once per
 * connection: the primary key's index scan from `afterSeq`).
 */
export function scanAuditSql(n: SchemaNames, afterSeq: number, limit: number): QueryArrayConfig {
  return {
    name: `kw_audit_scan_${n.schema}`,
    text: `SELECT ${AUDIT_COLUMNS} FROM ${n.audit} WHERE seq > $1 ORDER BY seq LIMIT $2`,
    values: [afterSeq, limit],
    rowMode: 'array',
    types: SCAN_TYPES,
  };
}
