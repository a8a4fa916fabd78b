/**
 * The schema, as numbered migration steps. A step is never edited once released:
 * a change is a new step. `migrate()` applies the missing ones in order, each in
 * its own transaction, and records them in `keyward_migrations`.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** Milliseconds since the epoch, computed by SQLite itself (for rows written by triggers). */
const NOW_MS = "CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)";

const INITIAL = `
CREATE TABLE keys (
  id                TEXT PRIMARY KEY,
  key_hash          TEXT NOT NULL,
  client_id         TEXT NOT NULL,
  fingerprint       TEXT NOT NULL,
  prefix            TEXT NOT NULL,
  status            TEXT NOT NULL CHECK (status IN ('pending', 'active', 'inactive', 'revoked')),
  scopes            TEXT NOT NULL CHECK (json_valid(scopes)),
  metadata          TEXT NOT NULL CHECK (json_valid(metadata)),
  created_at        INTEGER NOT NULL,
  expires_at        INTEGER,
  grace_until       INTEGER,
  rotation_id       TEXT,
  replaces          TEXT,
  revoked_at        INTEGER,
  revoked_reason    TEXT,
  last_used_at      INTEGER,
  status_changed_at INTEGER NOT NULL,
  updated_at        INTEGER NOT NULL,
  version           INTEGER NOT NULL CHECK (version >= 1)
) STRICT;
CREATE UNIQUE INDEX keys_key_hash_key ON keys (key_hash);
CREATE UNIQUE INDEX keys_one_pending_per_client ON keys (client_id) WHERE status = 'pending';
CREATE INDEX keys_client_idx ON keys (client_id, created_at, id);
CREATE INDEX keys_fingerprint_idx ON keys (fingerprint);
CREATE INDEX keys_expires_idx ON keys (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX keys_grace_idx ON keys (grace_until) WHERE grace_until IS NOT NULL;
CREATE INDEX keys_status_changed_idx ON keys (status, status_changed_at);

CREATE TABLE rotations (
  id              TEXT PRIMARY KEY,
  client_id       TEXT NOT NULL,
  old_key_id      TEXT NOT NULL,
  new_key_id      TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('started', 'delivered', 'completed', 'failed', 'aborted')),
  reason          TEXT,
  actor           TEXT,
  idempotency_key TEXT,
  grace_until     INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  completed_at    INTEGER,
  last_error      TEXT,
  version         INTEGER NOT NULL CHECK (version >= 1)
) STRICT;
CREATE UNIQUE INDEX rotations_one_open_per_client ON rotations (client_id) WHERE state IN ('started', 'delivered');
CREATE UNIQUE INDEX rotations_idempotency_key ON rotations (client_id, idempotency_key);
CREATE INDEX rotations_client_idx ON rotations (client_id, created_at, id);
CREATE INDEX rotations_due_idx ON rotations (state, grace_until);

CREATE TABLE audit_events (
  seq         INTEGER PRIMARY KEY,
  at          INTEGER NOT NULL,
  type        TEXT NOT NULL,
  client_id   TEXT,
  key_id      TEXT,
  fingerprint TEXT,
  rotation_id TEXT,
  actor       TEXT,
  reason      TEXT,
  data        TEXT NOT NULL CHECK (json_valid(data)),
  prev_hash   TEXT NOT NULL,
  hash        TEXT NOT NULL
) STRICT;
CREATE INDEX audit_events_client_idx ON audit_events (client_id, seq);
CREATE INDEX audit_events_at_idx ON audit_events (at);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: rows cannot be updated'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: rows cannot be deleted'); END;

CREATE TABLE key_changes (
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,
  key_hash TEXT NOT NULL,
  status   TEXT NOT NULL,
  version  INTEGER NOT NULL,
  at       INTEGER NOT NULL
) STRICT;
CREATE INDEX key_changes_at_idx ON key_changes (at);
CREATE TRIGGER keys_change_on_insert AFTER INSERT ON keys
BEGIN INSERT INTO key_changes (key_hash, status, version, at) VALUES (NEW.key_hash, NEW.status, NEW.version, ${NOW_MS}); END;
CREATE TRIGGER keys_change_on_update AFTER UPDATE ON keys
WHEN NEW.version IS NOT OLD.version OR NEW.status IS NOT OLD.status
BEGIN INSERT INTO key_changes (key_hash, status, version, at) VALUES (NEW.key_hash, NEW.status, NEW.version, ${NOW_MS}); END;
CREATE TRIGGER keys_change_on_delete AFTER DELETE ON keys
BEGIN INSERT INTO key_changes (key_hash, status, version, at) VALUES (OLD.key_hash, 'deleted', OLD.version, ${NOW_MS}); END;

CREATE TABLE keyward_meta (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT;
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'keys, rotations, audit_events, key_changes', sql: INITIAL },
  {
    version: 2,
    name: 'rotations: grace from first use; key_notices: expiry notices sent once',
    sql: `
ALTER TABLE rotations ADD COLUMN grace_from TEXT NOT NULL DEFAULT 'rotation' CHECK (grace_from IN ('rotation', 'first-use'));
ALTER TABLE rotations ADD COLUMN grace_ms INTEGER;
ALTER TABLE rotations ADD COLUMN first_used_at INTEGER;
CREATE TABLE key_notices (
  key_id  TEXT NOT NULL,
  notice  TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  PRIMARY KEY (key_id, notice)
) STRICT;
`,
  },
  {
    version: 3,
    name: 'operator console: key_usage hourly counts; indexes for paged clients, rotations and audit',
    // IF NOT EXISTS throughout: a step half-applied by hand still completes.
    sql: `
CREATE TABLE IF NOT EXISTS key_usage (
  key_id TEXT NOT NULL,
  hour   INTEGER NOT NULL,
  valid  INTEGER NOT NULL DEFAULT 0 CHECK (valid >= 0),
  grace  INTEGER NOT NULL DEFAULT 0 CHECK (grace >= 0),
  PRIMARY KEY (key_id, hour)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS key_usage_hour_idx ON key_usage (hour);
CREATE INDEX IF NOT EXISTS keys_client_status_idx ON keys (client_id, status, expires_at);
CREATE INDEX IF NOT EXISTS rotations_state_created_idx ON rotations (state, created_at, id);
CREATE INDEX IF NOT EXISTS audit_events_type_idx ON audit_events (type, seq);
CREATE INDEX IF NOT EXISTS audit_events_actor_idx ON audit_events (actor, seq);
`,
  },
];

/** The schema version this code writes and expects. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)?.version ?? 0;

/** Tables the schema creates: a database holding any of them without `keyward_migrations` is someone else's. */
export const KEYWARD_TABLES = ['keys', 'rotations', 'audit_events', 'key_changes', 'keyward_meta', 'key_notices', 'key_usage'] as const;
