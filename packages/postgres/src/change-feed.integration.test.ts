import { ErrorCodes, type InvalidationHandlers } from '@keyward/core';
import { makeKeyRecord } from '@keyward/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PostgresChangeFeed } from './change-feed.js';
import { PostgresStore } from './postgres-store.js';
import { adminQuery, dropSchema, randomSchema, testPool, testUrl, testUrlWith, waitFor } from './test-db.js';

const T0 = Date.UTC(2026, 0, 1);

function recorder() {
  const seen: string[] = [];
  const handlers: InvalidationHandlers = {
    invalidate: (hash) => seen.push(hash),
    reset: () => seen.push('RESET'),
  };
  return { seen, handlers };
}

describe('PostgresChangeFeed', () => {
  let schema: string;
  let store: PostgresStore;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeEach(async () => {
    schema = randomSchema();
    store = new PostgresStore({ connectionString: testUrl(), schema });
    await store.migrate();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await store.close();
    await dropSchema(schema);
  });

  function feed(connectionString = testUrl()): PostgresChangeFeed {
    const f = new PostgresChangeFeed({ connectionString, schema, reconnect: { minDelay: 20, maxDelay: 200 } });
    cleanups.push(() => f.close());
    return f;
  }

  it('delivers the hash of every key a commit touches, from another connection', async () => {
    const { seen, handlers } = recorder();
    await feed().subscribe(handlers);
    const key = makeKeyRecord();
    await store.commit({ at: T0, insertKeys: [key] });
    await store.commit({ at: T0, updateKeys: [{ id: key.id, expectedVersion: 1, patch: { status: 'revoked' } }] });
    await waitFor(() => seen.length >= 2, 2000, 'two notifications');
    expect(seen).toEqual([key.keyHash, key.keyHash]);
  });

  it('publish() reaches every subscriber, including ones in other feeds; unsubscribe stops delivery', async () => {
    const a = recorder();
    const b = recorder();
    const publisher = feed();
    const unsubscribeA = await publisher.subscribe(a.handlers);
    await feed().subscribe(b.handlers);
    await publisher.publish('abc123');
    await waitFor(() => a.seen.length === 1 && b.seen.length === 1, 2000, 'both subscribers');
    await unsubscribeA();
    await unsubscribeA();
    expect(publisher.listenerPid).toBeUndefined();
    await publisher.publish('def456');
    await waitFor(() => b.seen.length === 2, 2000, 'the second message');
    expect(a.seen).toEqual(['abc123']);
    expect(b.seen).toEqual(['abc123', 'def456']);
  });

  it('works on a shared pool via store.changeFeed()', async () => {
    const pool = testPool(3);
    cleanups.push(() => pool.end());
    const shared = new PostgresStore({ pool, schema });
    const bus = shared.changeFeed();
    cleanups.push(() => bus.close());
    const { seen, handlers } = recorder();
    await bus.subscribe(handlers);
    const key = makeKeyRecord();
    await shared.commit({ at: T0, insertKeys: [key] });
    await waitFor(() => seen.length === 1, 2000, 'notification');
    expect(seen).toEqual([key.keyHash]);
  });

  it('resets on a killed connection, reconnects, resets again, and keeps delivering', async () => {
    const { seen, handlers } = recorder();
    const bus = feed();
    await bus.subscribe(handlers);
    const firstPid = bus.listenerPid as number;
    expect(firstPid).toBeGreaterThan(0);
    const killed = await adminQuery<{ ok: boolean }>('SELECT pg_terminate_backend($1) AS ok', [firstPid]);
    expect(killed).toEqual([{ ok: true }]);
    await waitFor(() => seen.filter((s) => s === 'RESET').length >= 2, 5000, 'a reset on loss and one after reconnecting');
    expect(bus.listenerPid).toBeGreaterThan(0);
    expect(bus.listenerPid).not.toBe(firstPid);
    const key = makeKeyRecord();
    await store.commit({ at: T0, insertKeys: [key] });
    await waitFor(() => seen.includes(key.keyHash), 2000, 'a notification after reconnecting');
    expect(seen).toEqual(['RESET', 'RESET', key.keyHash]);
  });

  it('survives repeated kills, and a handler that throws does not stop the others', async () => {
    const { seen, handlers } = recorder();
    const bus = feed();
    await bus.subscribe({
      invalidate: () => {
        throw new Error('boom');
      },
      reset: () => {},
    });
    await bus.subscribe(handlers);
    await bus.publish('one');
    await waitFor(() => seen.includes('one'), 2000, 'delivery despite a throwing handler');
    // Kill it twice in a row: both losses are survived.
    for (let i = 0; i < 2; i++) {
      const pid = bus.listenerPid as number;
      await adminQuery('SELECT pg_terminate_backend($1)', [pid]);
      await waitFor(() => bus.listenerPid !== undefined && bus.listenerPid !== pid, 5000, `reconnect ${i + 1}`);
    }
    await bus.publish('two');
    await waitFor(() => seen.includes('two'), 2000, 'delivery after two reconnects');
  });

  it('backs off and retries while reconnecting fails', async () => {
    const pool = testPool(3);
    cleanups.push(() => pool.end());
    const bus = new PostgresChangeFeed({ pool, schema, reconnect: { minDelay: 10, maxDelay: 40 } });
    cleanups.push(() => bus.close());
    const { seen, handlers } = recorder();
    await bus.subscribe(handlers);
    // The server refuses the next three connection attempts (as if it were restarting).
    // (Only the promise form the listener uses is refused; pool.query's callback form passes through.)
    const realConnect = pool.connect.bind(pool) as (callback?: unknown) => Promise<unknown>;
    let refused = 0;
    (pool as { connect: (callback?: unknown) => Promise<unknown> }).connect = (callback?: unknown) => {
      if (callback !== undefined || refused >= 3) return realConnect(callback);
      refused++;
      return Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
    };
    await adminQuery('SELECT pg_terminate_backend($1)', [bus.listenerPid]);
    await waitFor(() => seen.filter((s) => s === 'RESET').length === 2, 5000, 'reset after the reconnect');
    expect(refused).toBe(3);
    await bus.publish('back');
    await waitFor(() => seen.includes('back'), 2000, 'delivery after reconnecting');
    expect(seen).toEqual(['RESET', 'RESET', 'back']);
  });

  it('rejects subscribe with KEYWARD_UNAVAILABLE when the database is down, and publish too', async () => {
    const down = feed(testUrlWith({ port: '1', password: 'pa55word' }));
    const error = await down.subscribe(recorder().handlers).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCodes.UNAVAILABLE });
    expect((error as Error).message).toMatch(/listening for key changes failed .*connection refused/);
    expect((error as Error).message).not.toContain('pa55word');
    await expect(down.publish('x')).rejects.toMatchObject({ code: ErrorCodes.UNAVAILABLE });
  });
});
