import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, type InvalidationHandlers, ManualClock } from '@keyward/core';
import { makeKeyRecord } from '@keyward/core/testing';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SqliteChangeFeed } from './change-feed.js';
import { SqliteStore } from './sqlite-store.js';

const T0 = Date.UTC(2026, 0, 1);

/** Records what a subscriber was told. */
function recorder() {
  const calls: string[] = [];
  const handlers: InvalidationHandlers = { invalidate: (hash) => calls.push(hash), reset: () => calls.push('RESET') };
  return { calls, handlers };
}

describe('SqliteChangeFeed', () => {
  let dir: string;
  let file: string;
  const closers: { close(): unknown }[] = [];
  const track = <T extends { close(): unknown }>(x: T): T => {
    closers.push(x);
    return x;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyward-feed-'));
    file = join(dir, 'keys.db');
  });
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A feed that only polls when told (a 1 h timer), so tests are deterministic. */
  const manualFeed = (options: ConstructorParameters<typeof SqliteChangeFeed>[0] = {}) =>
    track(new SqliteChangeFeed({ path: file, interval: '1h', ...options }));

  it('delivers changes written by another connection, starting from the log end at subscribe time', async () => {
    const writer = track(new SqliteStore(file));
    const before = makeKeyRecord();
    await writer.commit({ at: T0, insertKeys: [before] });
    const feed = manualFeed();
    const { calls, handlers } = recorder();
    await feed.subscribe(handlers);
    feed.poll();
    expect(calls).toEqual([]);
    const key = makeKeyRecord({ clientId: 'b' });
    await writer.commit({ at: T0, insertKeys: [key] });
    await writer.commit({ at: T0, updateKeys: [{ id: before.id, expectedVersion: 1, patch: { status: 'revoked' } }] });
    await writer.commit({ at: T0, deleteKeys: [{ id: key.id, expectedVersion: 1 }] });
    feed.poll();
    expect(calls).toEqual([key.keyHash, before.keyHash]);
    feed.poll();
    expect(calls).toHaveLength(2);
  });

  it('does nothing on a poll when no other connection wrote (data_version unchanged)', async () => {
    const writer = track(new SqliteStore(file));
    await writer.ready();
    const feed = manualFeed();
    const { calls, handlers } = recorder();
    await feed.subscribe(handlers);
    const db = track(new Database(file));
    // While no other connection wrote, a poll is one PRAGMA: it prepares no query at all.
    const prepare = vi.spyOn(Database.prototype, 'prepare');
    feed.poll();
    feed.poll();
    expect(prepare).not.toHaveBeenCalled();
    prepare.mockRestore();
    db.prepare("INSERT INTO key_changes (key_hash, status, version, at) VALUES ('h1', 'revoked', 2, 0)").run();
    feed.poll();
    expect(calls).toEqual(['h1']);
  });

  it('polls on its own every interval and stops when the last subscriber leaves', async () => {
    const writer = track(new SqliteStore(file));
    const feed = track(new SqliteChangeFeed({ store: writer, interval: 10 }));
    const { calls, handlers } = recorder();
    const unsubscribe = await feed.subscribe(handlers);
    const key = makeKeyRecord();
    await writer.commit({ at: T0, insertKeys: [key] });
    await vi.waitFor(() => expect(calls).toEqual([key.keyHash]), { timeout: 2000, interval: 5 });
    await unsubscribe();
    await unsubscribe();
    await writer.commit({ at: T0, updateKeys: [{ id: key.id, expectedVersion: 1, patch: { status: 'revoked' } }] });
    await new Promise((r) => setTimeout(r, 60));
    expect(calls).toEqual([key.keyHash]);
  });

  it('serves several subscribers from one connection; a throwing handler does not stop the others', async () => {
    const writer = track(new SqliteStore(file));
    const feed = manualFeed();
    const bad: InvalidationHandlers = {
      invalidate: () => {
        throw new Error('boom');
      },
      reset: () => {},
    };
    const good = recorder();
    await feed.subscribe(bad);
    const leave = await feed.subscribe(good.handlers);
    const key = makeKeyRecord();
    await writer.commit({ at: T0, insertKeys: [key] });
    feed.poll();
    expect(good.calls).toEqual([key.keyHash]);
    await leave();
    await writer.commit({ at: T0, updateKeys: [{ id: key.id, expectedVersion: 1, patch: { status: 'revoked' } }] });
    feed.poll();
    expect(good.calls).toEqual([key.keyHash]);
  });

  it('trims old rows, and resets a subscriber that had not read what was trimmed', async () => {
    const writer = track(new SqliteStore(file));
    const clock = new ManualClock(Date.now());
    const behind = recorder();
    const slow = manualFeed();
    await slow.subscribe(behind.handlers);
    const key = makeKeyRecord();
    await writer.commit({ at: T0, insertKeys: [key] });
    const trimmer = manualFeed({ clock, retention: '1h' });
    await trimmer.subscribe(recorder().handlers);
    expect(trimmer.trim()).toBe(0);
    clock.advance(3_600_000 + 1000);
    expect(trimmer.trim()).toBe(1);
    const db = track(new Database(file));
    expect(db.prepare('SELECT count(*) AS n FROM key_changes').get()).toEqual({ n: 0 });
    slow.poll();
    expect(behind.calls).toEqual(['RESET']);
    const next = makeKeyRecord({ clientId: 'b' });
    await writer.commit({ at: T0, insertKeys: [next] });
    slow.poll();
    expect(behind.calls).toEqual(['RESET', next.keyHash]);
  });

  it('resets instead of listing more than maxBatch changes', async () => {
    const writer = track(new SqliteStore(file));
    const feed = manualFeed({ maxBatch: 3 });
    const { calls, handlers } = recorder();
    await feed.subscribe(handlers);
    await writer.commit({ at: T0, insertKeys: Array.from({ length: 4 }, (_, i) => makeKeyRecord({ clientId: `c${i}` })) });
    feed.poll();
    expect(calls).toEqual(['RESET']);
    const key = makeKeyRecord();
    await writer.commit({ at: T0, insertKeys: [key] });
    feed.poll();
    expect(calls).toEqual(['RESET', key.keyHash]);
  });

  it('publish() writes nothing (the store logged the change in its own transaction)', async () => {
    const writer = track(new SqliteStore(file));
    await writer.ready();
    const feed = manualFeed();
    await feed.publish('f'.repeat(64));
    const db = track(new Database(file));
    expect(db.prepare('SELECT count(*) AS n FROM key_changes').get()).toEqual({ n: 0 });
  });

  it('has nothing to watch on an in-memory store', async () => {
    const feed = track(new SqliteChangeFeed({ store: track(new SqliteStore(':memory:')) }));
    const unsubscribe = await feed.subscribe(recorder().handlers);
    await unsubscribe();
  });

  it('fails subscribe with a clear error when the file cannot be opened', async () => {
    const feed = track(new SqliteChangeFeed({ path: join(dir, 'missing', 'keys.db') }));
    await expect(feed.subscribe(recorder().handlers)).rejects.toMatchObject({
      code: ErrorCodes.UNAVAILABLE,
      message: expect.stringContaining('missing/keys.db'),
    });
  });

  it('creates the schema on a new file, or with migrate: false refuses to', async () => {
    const strict = track(new SqliteChangeFeed({ path: file, migrate: false }));
    await expect(strict.subscribe(recorder().handlers)).rejects.toMatchObject({
      code: ErrorCodes.UNAVAILABLE,
      message: expect.stringContaining('run migrate()'),
    });
    const feed = manualFeed();
    const { calls, handlers } = recorder();
    await feed.subscribe(handlers);
    const key = makeKeyRecord();
    await track(new SqliteStore(file)).commit({ at: T0, insertKeys: [key] });
    feed.poll();
    expect(calls).toEqual([key.keyHash]);
  });

  it('validates its options at construction', () => {
    expect(() => new SqliteChangeFeed({ interval: 0, path: file })).toThrowError(
      /@keyward\/sqlite: option "interval" must be at least 1 ms/,
    );
    expect(() => new SqliteChangeFeed({ interval: 'soon', path: file })).toThrowError(
      /@keyward\/sqlite: SqliteChangeFeed option "interval" must be a duration/,
    );
    expect(() => new SqliteChangeFeed({ store: {} as never })).toThrowError(/option "store" must be a SqliteStore/);
    expect(() => new SqliteChangeFeed({ store: new SqliteStore(':memory:'), path: file })).toThrowError(
      /"path" cannot be combined with "store"/,
    );
    expect(() => new SqliteChangeFeed({ path: file, maxBatch: 0 })).toThrowError(/option "maxBatch" must be a positive integer/);
    expect(() => new SqliteChangeFeed({ path: file, migrate: 1 as never })).toThrowError(/option "migrate" must be a boolean/);
    expect(() => new SqliteChangeFeed({ path: 'mysql://u:pw@h/db' })).toThrowError(/option "path" must be a SQLite file path/);
  });
});
