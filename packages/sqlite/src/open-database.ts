import type { Logger } from '@keyward/core';
import Database from 'better-sqlite3';
import type { DatabaseLocation } from './database-path.js';
import { unavailable } from './errors.js';
import type { SqliteDatabase } from './options.js';

export interface OpenOptions {
  readonly location: DatabaseLocation;
  /** Busy timeout in ms; `undefined` leaves a caller's connection as configured. */
  readonly busyTimeout: number | undefined;
  readonly logger: Logger;
  /** Whether to switch a file database to WAL. */
  readonly wal: boolean;
}

/** How a database is named in messages and logs (paths are not secret). */
export function databaseLabel(location: DatabaseLocation): string {
  return JSON.stringify(location.filename);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * `journal_mode = WAL` needs a moment of exclusive access and may answer
 * SQLITE_BUSY without waiting when several processes open a new file at once, so
 * it is retried briefly. Already-WAL files answer at once.
 */
function enableWal(db: SqliteDatabase): string {
  for (let attempt = 0; ; attempt++) {
    try {
      return String(db.pragma('journal_mode = WAL', { simple: true }));
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || attempt >= 50) throw error;
      sleepSync(20);
    }
  }
}

/** Sets the pragmas keyward relies on: busy timeout (several writers), foreign keys, WAL for files. */
export function configureDatabase(db: SqliteDatabase, options: OpenOptions): void {
  if (options.busyTimeout !== undefined) db.pragma(`busy_timeout = ${options.busyTimeout}`);
  // Reading the header fails here, with a clear code, for a file that is not a database.
  db.pragma('schema_version', { simple: true });
  if (options.wal && !options.location.memory && !db.readonly) {
    const mode = enableWal(db);
    if (mode !== 'wal') {
      options.logger.warn(
        { path: options.location.filename, journalMode: mode },
        '@keyward/sqlite: could not switch to WAL; other processes may block',
      );
    }
  }
  db.pragma('foreign_keys = ON');
}

/**
 * Opens and configures a connection to `location`. Any failure (missing directory,
 * unreadable or corrupt file, locked database) becomes `KEYWARD_UNAVAILABLE`
 * naming the path and what failed.
 */
export function openDatabase(options: OpenOptions): SqliteDatabase {
  const { location } = options;
  let db: SqliteDatabase | undefined;
  try {
    db = new Database(location.filename, { timeout: options.busyTimeout ?? 5000 });
    configureDatabase(db, options);
    return db;
  } catch (error) {
    db?.close();
    throw openFailure(location, error);
  }
}

export function openFailure(location: DatabaseLocation, error: unknown) {
  const code = (error as { code?: unknown }).code;
  const reason = error instanceof Error ? error.message : String(error);
  return unavailable(
    `cannot open database ${databaseLabel(location)}: ${reason}${typeof code === 'string' ? ` (${code})` : ''}`,
    { path: location.filename, ...(typeof code === 'string' ? { sqliteCode: code } : {}) },
    error,
  );
}
