import type { SchemaNames } from './sql.js';

/** One numbered migration: SQL statements run in order inside the migration transaction. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  statements(names: SchemaNames): readonly string[];
}

/**
 * The schema's history. Append new steps at the end with the next number; never edit
 * a published step (databases already ran it). Timestamps are `bigint` milliseconds
 * since the epoch, exactly the numbers the core uses.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'keys, rotations, append-only audit_events',
    statements: (n) => [
      `CREATE TABLE ${n.keys} (
        id text COLLATE "C" NOT NULL,
        client_id text NOT NULL,
        key_hash text COLLATE "C" NOT NULL,
        fingerprint text COLLATE "C" NOT NULL,
        prefix text NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'active', 'inactive', 'revoked')),
        scopes text[] NOT NULL DEFAULT '{}',
        metadata jsonb NOT NULL DEFAULT '{}',
        created_at bigint NOT NULL,
        expires_at bigint,
        grace_until bigint,
        rotation_id text COLLATE "C",
        replaces text COLLATE "C",
        revoked_at bigint,
        revoked_reason text,
        last_used_at bigint,
        status_changed_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        version integer NOT NULL CHECK (version >= 1),
        CONSTRAINT keys_pkey PRIMARY KEY (id),
        CONSTRAINT keys_key_hash_key UNIQUE (key_hash)
      )`,
      // At most one pending key per client: a constraint, so concurrent processes cannot break it.
      `CREATE UNIQUE INDEX keys_one_pending_per_client ON ${n.keys} (client_id) WHERE status = 'pending'`,
      `CREATE INDEX keys_client_idx ON ${n.keys} (client_id, created_at, id)`,
      `CREATE INDEX keys_fingerprint_idx ON ${n.keys} (fingerprint)`,
      `CREATE INDEX keys_expires_idx ON ${n.keys} (expires_at) WHERE expires_at IS NOT NULL`,
      `CREATE INDEX keys_grace_idx ON ${n.keys} (grace_until) WHERE grace_until IS NOT NULL`,
      `CREATE INDEX keys_status_changed_idx ON ${n.keys} (status, status_changed_at)`,
      `CREATE TABLE ${n.rotations} (
        id text COLLATE "C" NOT NULL,
        client_id text NOT NULL,
        old_key_id text COLLATE "C" NOT NULL,
        new_key_id text COLLATE "C" NOT NULL,
        state text NOT NULL CHECK (state IN ('started', 'delivered', 'completed', 'failed', 'aborted')),
        reason text,
        actor text,
        idempotency_key text,
        grace_until bigint NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        completed_at bigint,
        last_error text,
        version integer NOT NULL CHECK (version >= 1),
        CONSTRAINT rotations_pkey PRIMARY KEY (id),
        CONSTRAINT rotations_idempotency_key UNIQUE (client_id, idempotency_key)
      )`,
      // At most one open rotation per client.
      `CREATE UNIQUE INDEX rotations_one_open_per_client ON ${n.rotations} (client_id) WHERE state IN ('started', 'delivered')`,
      `CREATE INDEX rotations_client_idx ON ${n.rotations} (client_id, created_at, id)`,
      `CREATE INDEX rotations_grace_idx ON ${n.rotations} (grace_until)`,
      `CREATE TABLE ${n.audit} (
        seq bigint NOT NULL CHECK (seq >= 1),
        at bigint NOT NULL,
        type text NOT NULL,
        client_id text,
        key_id text,
        fingerprint text,
        rotation_id text,
        actor text,
        reason text,
        data jsonb NOT NULL DEFAULT '{}',
        prev_hash text COLLATE "C" NOT NULL,
        hash text COLLATE "C" NOT NULL,
        CONSTRAINT audit_events_pkey PRIMARY KEY (seq),
        CONSTRAINT audit_events_prev_hash_key UNIQUE (prev_hash)
      )`,
      `CREATE INDEX audit_events_client_idx ON ${n.audit} (client_id, seq)`,
      `CREATE INDEX audit_events_at_idx ON ${n.audit} (at)`,
      // Append-only: every UPDATE, DELETE and TRUNCATE is rejected by the database itself.
      `CREATE FUNCTION ${n.quoted}.audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'keyward: % on %.% is not allowed: the audit log is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
           USING ERRCODE = 'restrict_violation';
       END
       $$`,
      `CREATE TRIGGER audit_events_no_update_delete BEFORE UPDATE OR DELETE ON ${n.audit}
       FOR EACH ROW EXECUTE FUNCTION ${n.quoted}.audit_events_append_only()`,
      `CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON ${n.audit}
       FOR EACH STATEMENT EXECUTE FUNCTION ${n.quoted}.audit_events_append_only()`,
    ],
  },
  {
    version: 2,
    name: 'key_changes: the change log every process follows',
    statements: (n) => [
      `CREATE TABLE ${n.changes} (
        seq bigint NOT NULL CHECK (seq >= 1),
        key_hash text COLLATE "C" NOT NULL,
        status text NOT NULL,
        version integer NOT NULL,
        at bigint NOT NULL,
        CONSTRAINT key_changes_pkey PRIMARY KEY (seq)
      )`,
      `CREATE INDEX key_changes_at_idx ON ${n.changes} (at)`,
      // The counter behind seq, and how far the log was trimmed. A counter row, not a
      // sequence: its row lock is held to commit, so seqs are dense and in commit order
      // (a reader that has seen seq N has seen every change before it).
      `CREATE TABLE ${n.meta} (name text PRIMARY KEY, value bigint NOT NULL)`,
      `INSERT INTO ${n.meta} (name, value) VALUES ('key_changes_seq', 0), ('key_changes_trimmed_through', 0)`,
      // Statement-level with transition tables: one counter update per statement, not per row.
      // Logs inserts, deletes and updates that change status or version (last_used_at is bookkeeping).
      `CREATE FUNCTION ${n.quoted}.keys_log_changes() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE
         changed bigint;
         top bigint;
         now_ms bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
       BEGIN
         IF TG_OP = 'INSERT' THEN
           SELECT count(*) INTO changed FROM new_rows;
         ELSIF TG_OP = 'DELETE' THEN
           SELECT count(*) INTO changed FROM old_rows;
         ELSE
           SELECT count(*) INTO changed FROM new_rows AS nr JOIN old_rows AS o ON o.id = nr.id
             WHERE o.version IS DISTINCT FROM nr.version OR o.status IS DISTINCT FROM nr.status;
         END IF;
         IF changed = 0 THEN RETURN NULL; END IF;
         UPDATE ${n.meta} SET value = value + changed WHERE name = 'key_changes_seq' RETURNING value - changed INTO top;
         IF TG_OP = 'INSERT' THEN
           INSERT INTO ${n.changes} (seq, key_hash, status, version, at)
             SELECT top + row_number() OVER (ORDER BY nr.id), nr.key_hash, nr.status, nr.version, now_ms FROM new_rows AS nr;
         ELSIF TG_OP = 'DELETE' THEN
           INSERT INTO ${n.changes} (seq, key_hash, status, version, at)
             SELECT top + row_number() OVER (ORDER BY o.id), o.key_hash, 'deleted', o.version, now_ms FROM old_rows AS o;
         ELSE
           INSERT INTO ${n.changes} (seq, key_hash, status, version, at)
             SELECT top + row_number() OVER (ORDER BY nr.id), nr.key_hash, nr.status, nr.version, now_ms
             FROM new_rows AS nr JOIN old_rows AS o ON o.id = nr.id
             WHERE o.version IS DISTINCT FROM nr.version OR o.status IS DISTINCT FROM nr.status;
         END IF;
         RETURN NULL;
       END
       $$`,
      `CREATE TRIGGER keys_log_insert AFTER INSERT ON ${n.keys} REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION ${n.quoted}.keys_log_changes()`,
      `CREATE TRIGGER keys_log_update AFTER UPDATE ON ${n.keys} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION ${n.quoted}.keys_log_changes()`,
      `CREATE TRIGGER keys_log_delete AFTER DELETE ON ${n.keys} REFERENCING OLD TABLE AS old_rows
       FOR EACH STATEMENT EXECUTE FUNCTION ${n.quoted}.keys_log_changes()`,
    ],
  },
  {
    version: 3,
    name: 'rotations: grace from first use; key_notices: expiry notices sent once',
    statements: (n) => [
      `ALTER TABLE ${n.rotations} ADD COLUMN grace_from text NOT NULL DEFAULT 'rotation' CHECK (grace_from IN ('rotation', 'first-use'))`,
      `ALTER TABLE ${n.rotations} ADD COLUMN grace_ms bigint`,
      `ALTER TABLE ${n.rotations} ADD COLUMN first_used_at bigint`,
      // One row per key and notice (e.g. 'expiring:3d'): the primary key makes a notice go out once across schedulers.
      `CREATE TABLE ${n.notices} (
        key_id text COLLATE "C" NOT NULL,
        notice text NOT NULL,
        sent_at bigint NOT NULL,
        CONSTRAINT key_notices_pkey PRIMARY KEY (key_id, notice)
      )`,
    ],
  },
  {
    version: 4,
    name: 'operator console: key_usage hourly counts; indexes for paged clients, rotations and audit',
    // IF NOT EXISTS throughout: a step half-applied by hand (or by a build that never recorded it) still completes.
    statements: (n) => [
      // One row per key and hour: the primary key is the upsert target of addUsage and the order of listUsage.
      `CREATE TABLE IF NOT EXISTS ${n.usage} (
        key_id text COLLATE "C" NOT NULL,
        hour bigint NOT NULL,
        valid bigint NOT NULL DEFAULT 0 CHECK (valid >= 0),
        grace bigint NOT NULL DEFAULT 0 CHECK (grace >= 0),
        CONSTRAINT key_usage_pkey PRIMARY KEY (key_id, hour)
      )`,
      // trimUsage deletes by hour.
      `CREATE INDEX IF NOT EXISTS key_usage_hour_idx ON ${n.usage} (hour)`,
      // Clients in binary order (keys.client_id has the database's collation, which may not be C),
      // also their prefix search; status and expires_at ride along so the filters read the index only.
      // last_used_at is left out on purpose: it changes on every flush and would end HOT updates.
      `CREATE INDEX IF NOT EXISTS keys_client_binary_idx ON ${n.keys} (client_id COLLATE "C") INCLUDE (status, expires_at)`,
      // Open rotations oldest first (listRotationsPage).
      `CREATE INDEX IF NOT EXISTS rotations_state_created_idx ON ${n.rotations} (state, created_at, id)`,
      // The audit view's filters, newest first.
      `CREATE INDEX IF NOT EXISTS audit_events_type_idx ON ${n.audit} (type, seq)`,
      `CREATE INDEX IF NOT EXISTS audit_events_actor_idx ON ${n.audit} (actor, seq)`,
    ],
  },
];

/** The schema version this code expects: the number of the last migration. */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
