import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyStore } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import { SqliteStore } from '@keyward/sqlite';
import Database from 'better-sqlite3';
import pg from 'pg';
import { adminQuery, dropSchema, randomSchema, testUrl } from '../../packages/postgres/src/test-db.js';

/** Columns of `audit_events` that the hash covers (everything but seq and the two hashes). */
export type AuditColumn = 'at' | 'type' | 'client_id' | 'key_id' | 'fingerprint' | 'rotation_id' | 'actor' | 'reason' | 'data';

/**
 * Someone with direct access to the database, bypassing keyward: what the chain has
 * to catch. Each method is one plain SQL statement (or a few in a transaction).
 */
export interface Attacker {
  /** A plain UPDATE / DELETE (and TRUNCATE where the database has it), expected to be refused by the schema. */
  plainWrites(): Record<string, () => Promise<unknown>>;
  /** Drops or disables the append-only triggers, as an owner of the tables can. */
  removeProtection(): Promise<void>;
  setColumn(seq: number, column: AuditColumn, value: string | number): Promise<void>;
  setHashes(seq: number, prevHash: string, hash: string): Promise<void>;
  deleteRow(seq: number): Promise<void>;
  deleteAfter(seq: number): Promise<void>;
  /** Swaps two rows' places: each takes the other's seq. */
  swapSeq(a: number, b: number): Promise<void>;
}

export interface Target {
  readonly store: KeyStore;
  /** Called once the trail is written: opens the attacker's own connection. */
  attack(): Promise<Attacker>;
  cleanup(): Promise<void>;
}

export interface Backend {
  readonly name: string;
  open(): Promise<Target>;
  /** Checks nothing of this run is left behind (schemas, files). */
  leftovers(): Promise<string[]>;
}

const sqliteDirs: string[] = [];

export const sqliteBackend: Backend = {
  name: 'SqliteStore',
  async open() {
    const dir = await mkdtemp(join(tmpdir(), 'keyward-tamper-'));
    sqliteDirs.push(dir);
    const path = join(dir, 'keyward.db');
    const store = new SqliteStore({ path });
    let db: Database.Database | undefined;
    return {
      store,
      async attack() {
        const conn = new Database(path);
        db = conn;
        const run = async (sql: string, ...params: unknown[]) => {
          conn.prepare(sql).run(...params);
        };
        return {
          plainWrites: () => ({
            UPDATE: () => run("UPDATE audit_events SET reason = 'covered up' WHERE seq = 2"),
            DELETE: () => run('DELETE FROM audit_events WHERE seq = 2'),
          }),
          removeProtection: async () => {
            conn.exec('DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete;');
          },
          setColumn: (seq, column, value) => run(`UPDATE audit_events SET "${column}" = ? WHERE seq = ?`, value, seq),
          setHashes: (seq, prevHash, hash) => run('UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?', prevHash, hash, seq),
          deleteRow: (seq) => run('DELETE FROM audit_events WHERE seq = ?', seq),
          deleteAfter: (seq) => run('DELETE FROM audit_events WHERE seq > ?', seq),
          swapSeq: async (a, b) => {
            conn.transaction(() => {
              conn.prepare('UPDATE audit_events SET seq = ? WHERE seq = ?').run(-a, a);
              conn.prepare('UPDATE audit_events SET seq = ? WHERE seq = ?').run(a, b);
              conn.prepare('UPDATE audit_events SET seq = ? WHERE seq = ?').run(b, -a);
            })();
          },
        };
      },
      async cleanup() {
        db?.close();
        await store.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  async leftovers() {
    const { existsSync } = await import('node:fs');
    return sqliteDirs.filter((dir) => existsSync(dir));
  },
};

const schemas: string[] = [];

export const postgresBackend: Backend = {
  name: 'PostgresStore',
  async open() {
    const schema = randomSchema('kwtamper');
    schemas.push(schema);
    const store = new PostgresStore({ connectionString: testUrl(), schema });
    const table = `"${schema}".audit_events`;
    let client: pg.Client | undefined;
    return {
      store,
      async attack() {
        const conn = new pg.Client({ connectionString: testUrl() });
        conn.on('error', () => {});
        await conn.connect();
        client = conn;
        const run = async (sql: string, ...params: unknown[]) => {
          await conn.query(sql, params);
        };
        return {
          plainWrites: () => ({
            UPDATE: () => run(`UPDATE ${table} SET reason = 'covered up' WHERE seq = 2`),
            DELETE: () => run(`DELETE FROM ${table} WHERE seq = 2`),
            TRUNCATE: () => run(`TRUNCATE ${table}`),
          }),
          // The table owner may switch its own triggers off (no superuser needed).
          removeProtection: async () => {
            await run(`ALTER TABLE ${table} DISABLE TRIGGER audit_events_no_update_delete`);
            await run(`ALTER TABLE ${table} DISABLE TRIGGER audit_events_no_truncate`);
          },
          setColumn: (seq, column, value) =>
            run(`UPDATE ${table} SET "${column}" = $1${column === 'data' ? '::jsonb' : ''} WHERE seq = $2`, value, seq),
          setHashes: (seq, prevHash, hash) => run(`UPDATE ${table} SET prev_hash = $1, hash = $2 WHERE seq = $3`, prevHash, hash, seq),
          deleteRow: (seq) => run(`DELETE FROM ${table} WHERE seq = $1`, seq),
          deleteAfter: (seq) => run(`DELETE FROM ${table} WHERE seq > $1`, seq),
          // seq is the primary key (and >= 1): park one row on a free number while the other moves.
          swapSeq: async (a, b) => {
            await run('BEGIN');
            await run(`UPDATE ${table} SET seq = $1 WHERE seq = $2`, 1_000_000_000 + a, a);
            await run(`UPDATE ${table} SET seq = $1 WHERE seq = $2`, a, b);
            await run(`UPDATE ${table} SET seq = $1 WHERE seq = $2`, b, 1_000_000_000 + a);
            await run('COMMIT');
          },
        };
      },
      async cleanup() {
        await client?.end();
        await store.close();
        await dropSchema(schema);
      },
    };
  },
  async leftovers() {
    if (schemas.length === 0) return [];
    const rows = await adminQuery<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[])', [schemas]);
    return rows.map((r) => r.nspname);
  },
};
