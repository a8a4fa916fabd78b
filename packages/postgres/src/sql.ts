/** Quotes an SQL identifier: wraps it in double quotes and doubles any inside. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Schema-qualified, quoted names of everything the store creates in its schema. */
export interface SchemaNames {
  /** The schema name as configured (unquoted). */
  readonly schema: string;
  /** The quoted schema name. */
  readonly quoted: string;
  readonly keys: string;
  readonly rotations: string;
  readonly audit: string;
  readonly migrations: string;
  /** The change log (schema version 2) and its counter. */
  readonly changes: string;
  readonly meta: string;
  /** Expiry notices already sent (schema version 3). */
  readonly notices: string;
  /** Hourly request counts per key (schema version 4). */
  readonly usage: string;
  /** The LISTEN/NOTIFY channel for key changes (unquoted: `pg_notify` takes it as text). */
  readonly channel: string;
}

/** The NOTIFY channel of a schema: `<schema>_changes`. */
export function changeChannel(schema: string): string {
  return `${schema}_changes`;
}

export function schemaNames(schema: string): SchemaNames {
  const quoted = quoteIdent(schema);
  const table = (name: string) => `${quoted}.${quoteIdent(name)}`;
  return {
    schema,
    quoted,
    keys: table('keys'),
    rotations: table('rotations'),
    audit: table('audit_events'),
    migrations: table('schema_migrations'),
    changes: table('key_changes'),
    meta: table('keyward_meta'),
    notices: table('key_notices'),
    usage: table('key_usage'),
    channel: changeChannel(schema),
  };
}

/** Lock class for `pg_advisory(_xact)_lock(int4, int4)`: ASCII "kywd". The second int is per schema and purpose. */
export const LOCK_CLASS = 0x6b797764;

/** SQL text of an advisory lock key for this schema: `LOCK_CLASS, hashtext(<schema>:<purpose>)` with the text as `$n`. */
export function advisoryKey(param: number): string {
  return `${LOCK_CLASS}, hashtext($${param})`;
}
