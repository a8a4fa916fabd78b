import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './options.js';

/**
 * Prepared statements per connection, by SQL text. Every SQL string keyward
 * builds comes from a fixed set of fragments, so the cache stays small.
 */
export class StatementCache {
  private readonly statements = new Map<string, Statement>();

  constructor(readonly db: SqliteDatabase) {}

  get(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
