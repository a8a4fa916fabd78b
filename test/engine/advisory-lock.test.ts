import { randomBytes } from 'node:crypto';
import { createKeyward, Scheduler } from '@keyward/core';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresAdvisoryLock } from '../../packages/postgres/src/advisory-lock.js';
import { testUrl, testUrlWith } from '../../packages/postgres/src/test-db.js';

const schema = `kw_lock_${randomBytes(5).toString('hex')}`;
const locks: PostgresAdvisoryLock[] = [];
const make = () => {
  const lock = new PostgresAdvisoryLock({ connectionString: testUrl(), schema });
  locks.push(lock);
  return lock;
};
afterAll(async () => {
  await Promise.all(locks.map((l) => l.close()));
});

describe('PostgresAdvisoryLock (real PostgreSQL)', () => {
  it('one holder at a time across pools; release frees it', async () => {
    const a = make();
    const b = make();
    const held = await a.acquire('scheduler', 60_000);
    expect(held).not.toBeNull();
    expect(await b.acquire('scheduler', 60_000)).toBeNull();
    expect(await a.acquire('scheduler', 60_000)).toBeNull(); // another session of the same pool is another holder
    const other = await b.acquire('other-name', 60_000);
    expect(other).not.toBeNull();
    await held?.release();
    await held?.release(); // idempotent
    const again = await b.acquire('scheduler', 60_000);
    expect(again).not.toBeNull();
    await again?.release();
    await other?.release();
  });

  it('a holder whose connection dies loses the lock (no TTL needed)', async () => {
    const a = make();
    const b = make();
    const held = await a.acquire('crashy', 60_000);
    expect(held).not.toBeNull();
    const admin = new pg.Client({ connectionString: testUrl() });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ pid: number }>(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = hashtext($1)::oid",
        [`${schema}:lock:crashy`],
      );
      expect(rows).toHaveLength(1);
      await admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
    } finally {
      await admin.end();
    }
    let taken = null;
    for (let i = 0; i < 50 && taken === null; i++) {
      taken = await b.acquire('crashy', 60_000);
      if (taken === null) await new Promise((r) => setTimeout(r, 20));
    }
    expect(taken).not.toBeNull();
    await taken?.release();
    await held?.release(); // the dead connection is dropped, not reused; no throw
  });

  it('works as the Scheduler lock: a second scheduler skips while the first holds it', async () => {
    const lock = make();
    const keyward = createKeyward();
    const holder = await make().acquire('keyward:scheduler', 60_000);
    const report = await new Scheduler(keyward, { lock }).tick();
    expect(report.skippedLocked).toBe(true);
    await holder?.release();
    expect((await new Scheduler(keyward, { lock }).tick()).skippedLocked).toBe(false);
  });

  it('a bad password gives a clear error without the password', async () => {
    const lock = new PostgresAdvisoryLock({ connectionString: testUrlWith({ port: '1', password: 'hunter2-secret' }), schema });
    locks.push(lock);
    const error = await lock.acquire('x', 1000).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/@keyward\/postgres: taking the scheduler lock failed for PostgreSQL at .*connection refused/);
    expect(error?.message).not.toContain('hunter2-secret');
  });
});
