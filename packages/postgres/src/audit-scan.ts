import type { CustomTypesConfig, QueryArrayConfig } from 'pg';
import type { SchemaNames } from './sql.js';

const INT8_OID = 20;
const JSON_OID = 114;
const JSONB_OID = 3802;

function text(value: string): string {
  return value;
}

/**
 * Column parsers for the verify scan, whatever the pool's global `pg.types` say: `bigint`
 * as a number (seq, as `auditFromRow` gives it), `jsonb` parsed, text as it came.
 */
const SCAN_TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number) => {
    if (oid === INT8_OID) return Number;
    if (oid === JSONB_OID || oid === JSON_OID) return JSON.parse;
    return text;
  }) as CustomTypesConfig['getTypeParser'],
};

/**
 * A text column as `canonicalJson` writes it: `to_json(text)` escapes exactly what
 * JSON.stringify escapes (quote, backslash, \b \f \n \r \t by name, other controls as
 * lowercase \u00xx; PostgreSQL text holds no NUL and no lone surrogate), NULL is `null`.
 * Schema-qualified, so a function on the search path cannot stand in for it.
 */
function jsonText(column: string): string {
  return `coalesce(pg_catalog.to_json(${column})::text, 'null')`;
}

/**
 * The head and tail of each row's canonical text (the layout of the core's `auditScanRow`),
 * rendered by the database: the verifier parses and canonicalises only `data`, and a row
 * arrives as six values. `bigint::text` is the decimal JavaScript prints for the numbers
 * keyward wrote (pg sends a number as its JavaScript decimal text).
 */
const SCAN_COLUMNS = [
  'seq',
  `'{"actor":' || ${jsonText('actor')} || ',"at":' || at::text || ',"clientId":' || ${jsonText('client_id')} || ',"data":'`,
  'data',
  `',"fingerprint":' || ${jsonText('fingerprint')} || ',"keyId":' || ${jsonText('key_id')} || ',"reason":' || ${jsonText('reason')} || ` +
    `',"rotationId":' || ${jsonText('rotation_id')} || ',"seq":' || seq::text || ',"type":' || ${jsonText('type')} || '}'`,
  'prev_hash',
  'hash',
].join(', ');

/**
 * The keyset page `scanAuditForVerify` reads: `AuditScanRow`s as array rows
 * (`rowMode: 'array'`: no object per row), a named statement (planned once per
 * connection: the primary key's index scan from `afterSeq`).
 */
export function scanAuditSql(n: SchemaNames, afterSeq: number, limit: number): QueryArrayConfig {
  return {
    name: `kw_audit_scan_${n.schema}`,
    text: `SELECT ${SCAN_COLUMNS} FROM ${n.audit} WHERE seq > $1 ORDER BY seq LIMIT $2`,
    values: [afterSeq, limit],
    rowMode: 'array',
    types: SCAN_TYPES,
  };
}
