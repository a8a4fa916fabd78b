import { createKeyward, generateKey, type Keyward } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, randomSchema, testUrl } from '../../packages/postgres/src/test-db.js';
import { cli, servedRatio, startApps, startLoad, until } from '../support/faults/fleet.mjs';
import { getJson, startFlood } from '../support/faults/flood.mjs';
import { startRedisProcess } from '../support/faults/redis-process.mjs';

type Apps = Awaited<ReturnType<typeof startApps>>;
type Redis = Awaited<ReturnType<typeof startRedisProcess>>;

const schema = randomSchema('kwflood');
const env = (redisUrl?: string) => ({
  KEYWARD_DATABASE_URL: testUrl(),
  KEYWARD_DATABASE_SCHEMA: schema,
  FAULTS_LIMITER: 'off', // many addresses: more than any per-source budget
  ...(redisUrl === undefined ? {} : { KEYWARD_REDIS_URL: redisUrl }),
});

let redis: Redis;
let admin: Keyward;
const stops: (() => Promise<unknown>)[] = [];

async function unknownLookups(port: number): Promise<number> {
  return (await getJson(port, '/__lookups')).unknownLookups;
}

async function filterReady(ports: number[]): Promise<void> {
  await until('every app has built its known-keys filter', async () =>
    (await Promise.all(ports.map((port) => getJson(port, '/__filter')))).every((s) => s.filter?.ready === true),
  );
}

/** ms from now until `key` gets a 200 from every app. */
async function msUntilAccepted(ports: number[], key: string, limitMs = 5000): Promise<number> {
  const started = Date.now();
  const pending = new Set(ports);
  while (pending.size > 0) {
    for (const port of [...pending]) {
      const res = await fetch(`http://127.0.0.1:${port}/orders`, { headers: { authorization: `Bearer ${key}` } });
      await res.arrayBuffer();
      if (res.status === 200) pending.delete(port);
    }
    if (Date.now() - started > limitMs) throw new Error(`a new key was still refused after ${limitMs} ms`);
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - started;
}

beforeAll(async () => {
  redis = await startRedisProcess();
  stops.push(() => redis.destroy());
  expect((await cli(['migrate'], env())).code).toBe(0);
  const store = new PostgresStore({ connectionString: testUrl(), schema, migrate: false });
  // The operator's process: never talks to Redis, does not follow the log.
  admin = createKeyward({ store, changes: { interval: false } });
  stops.push(() => admin.close());
  stops.push(() => adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
});

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
});

describe('a flood of made-up keys (PostgreSQL, two API processes, own Redis, no per-source limiter)', () => {
  it('costs the store almost no lookups; live keys keep serving; a key issued elsewhere works within a second', async () => {
    const live = await Promise.all(['live-a', 'live-b'].map((c) => admin.issue(c)));
    const apps: Apps = await startApps(2, env(redis.url));
    stops.push(() => apps.stop());
    await filterReady(apps.ports);
    const load = startLoad(apps.ports);
    for (const [i, k] of live.entries()) load.add(k.clientId, k.key, `127.0.0.${10 + i}`);
    const before = await Promise.all(apps.ports.map(unknownLookups));
    const flood = startFlood(apps.ports, { addresses: 64, connections: 32 });
    await new Promise((r) => setTimeout(r, 1500));
    const fresh = await admin.issue('fresh');
    const acceptedMs = await msUntilAccepted(apps.ports, fresh.key);
    await new Promise((r) => setTimeout(r, 1000));
    await flood.stop();
    load.stop();
    const after = await Promise.all(apps.ports.map(unknownLookups));
    const lookups = after.reduce((sum, n, i) => sum + n - (before[i] as number), 0);
    const answered = flood.answered();
    expect(flood.statuses.get(401)).toBe(answered); // every made-up key refused as unknown, none 500/503
    expect(answered).toBeGreaterThan(500);
    // Two processes, 3.5 s: the budget's burst and halving (~40 + 20 + 10 + 5 each), however fast the flood.
    expect(lookups).toBeLessThan(200);
    expect(lookups / answered).toBeLessThan(0.1);
    expect(acceptedMs).toBeLessThan(1000);
    expect(servedRatio(load.records, ['live-a', 'live-b'], 0, Date.now())).toBeGreaterThanOrEqual(0.99);
    await apps.stop();
  });

  it('a process restarted during a flood serves live keys at once and sheds the flood once its filter is built', async () => {
    const live = await admin.issue('restart-live');
    const apps: Apps = await startApps(1, env(redis.url));
    stops.push(() => apps.stop());
    await filterReady(apps.ports);
    const flood = startFlood(apps.ports, { addresses: 64, connections: 16, subnet: 2 });
    await new Promise((r) => setTimeout(r, 500));
    await apps.stop(); // SIGKILL mid-flood
    const restarted: Apps = await startApps(1, env(redis.url));
    stops.push(() => restarted.stop());
    const flood2 = startFlood(restarted.ports, { addresses: 64, connections: 16, subnet: 3 });
    expect(await msUntilAccepted(restarted.ports, live.key)).toBeLessThan(2000);
    await filterReady(restarted.ports);
    const before = await unknownLookups(restarted.ports[0] as number);
    const answeredBefore = flood2.answered();
    await new Promise((r) => setTimeout(r, 2000));
    const lookups = (await unknownLookups(restarted.ports[0] as number)) - before;
    const answered = flood2.answered() - answeredBefore;
    await flood.stop();
    await flood2.stop();
    expect(answered).toBeGreaterThan(300);
    expect(lookups).toBeLessThan(80);
    await restarted.stop();
  });

  it('with Redis lost: live keys keep serving, the flood still costs nothing, a new key is heard from the change log', async () => {
    const live = await admin.issue('outage-live');
    const apps: Apps = await startApps(2, env(redis.url));
    stops.push(() => apps.stop());
    await filterReady(apps.ports);
    const load = startLoad(apps.ports);
    load.add('outage-live', live.key, '127.0.0.20');
    await until('the live key served', () => load.records.some((r) => r.status === 200));
    await redis.kill();
    const flood = startFlood(apps.ports, { addresses: 64, connections: 32, subnet: 4 });
    const before = await Promise.all(apps.ports.map(unknownLookups));
    const answeredBefore = flood.answered();
    await new Promise((r) => setTimeout(r, 1500));
    const fresh = await admin.issue('outage-fresh');
    const acceptedMs = await msUntilAccepted(apps.ports, fresh.key);
    await new Promise((r) => setTimeout(r, 500));
    const after = await Promise.all(apps.ports.map(unknownLookups));
    const lookups = after.reduce((sum, n, i) => sum + n - (before[i] as number), 0);
    const answered = flood.answered() - answeredBefore;
    const from = Date.now() - 2500;
    await flood.stop();
    load.stop();
    await redis.start();
    expect(answered).toBeGreaterThan(300);
    expect(lookups).toBeLessThan(200);
    expect(acceptedMs).toBeLessThan(1500);
    expect(servedRatio(load.records, ['outage-live'], from, Date.now())).toBeGreaterThanOrEqual(0.99);
    await apps.stop();
  });

  it('a key issued and used at once in the same process works while that process is flooded', async () => {
    const store = new PostgresStore({ connectionString: testUrl(), schema, migrate: false });
    const api = createKeyward({ store });
    stops.push(() => api.close());
    await api.knownKeysReady();
    let flooding = true;
    const flood = (async () => {
      let n = 0;
      while (flooding) {
        await Promise.all(Array.from({ length: 50 }, () => api.verify(generateKey('sk_live'))));
        n += 50;
      }
      return n;
    })();
    await new Promise((r) => setTimeout(r, 300));
    const issued = await api.issue('same-process');
    expect(await api.verify(issued.key)).toMatchObject({ valid: true, clientId: 'same-process' });
    flooding = false;
    expect(await flood).toBeGreaterThan(100);
    expect(api.knownKeysStatus()?.ruledOut).toBeGreaterThan(100);
  });
});
