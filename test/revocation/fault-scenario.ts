import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyward, generateKey, type IssuedKey, type Keyward } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import { SqliteStore } from '@keyward/sqlite';
import { expect } from 'vitest';
import { cli, revocationOutcome, servedRatio, startApps, startLoad, until } from '../support/faults/fleet.mjs';
import { startPostgresCluster } from '../support/faults/postgres-cluster.mjs';
import { startRedisProcess } from '../support/faults/redis-process.mjs';

const LIVE = ['live-a', 'live-b'];

/**
 * The issue-20 scenario against real processes: two API processes on `kind` + a Redis of
 * the test's own, steady keep-alive load from loopback addresses, and keys revoked through
 * the real CLI by a writer with the Redis URL and by one without it, in each fault phase.
 */
export async function runFaultScenario(kind: 'postgres' | 'sqlite', log: (line: string) => void): Promise<void> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const redis = await startRedisProcess();
    cleanups.push(() => redis.destroy());
    let databaseUrl: string;
    let pg: Awaited<ReturnType<typeof startPostgresCluster>> | undefined;
    if (kind === 'postgres') {
      pg = await startPostgresCluster();
      const cluster = pg;
      cleanups.push(() => cluster.destroy());
      databaseUrl = pg.url;
    } else {
      const dir = mkdtempSync(join(tmpdir(), 'keyward-faults-'));
      cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
      databaseUrl = join(dir, 'keyward.db');
    }
    const withRedis = { KEYWARD_DATABASE_URL: databaseUrl, KEYWARD_REDIS_URL: redis.url };
    const withoutRedis = { KEYWARD_DATABASE_URL: databaseUrl };
    expect((await cli(['migrate'], withoutRedis)).code).toBe(0);

    // The operator's side, in process: issues keys; never talks to Redis.
    const store =
      kind === 'postgres'
        ? new PostgresStore({ connectionString: databaseUrl, migrate: false })
        : new SqliteStore({ path: databaseUrl, migrate: false });
    const admin: Keyward = createKeyward({ store, changes: { interval: false } });
    cleanups.push(() => admin.close());

    const apps = await startApps(2, withRedis);
    cleanups.push(() => apps.stop());
    const load = startLoad(apps.ports);
    cleanups.push(async () => load.stop());
    let address = 10;
    const track = async (name: string, issued: IssuedKey, at = `127.0.0.${address++}`) => {
      load.add(name, issued.key, at);
      const since = Date.now();
      await until(`${name} served by both apps`, () =>
        [0, 1].every((app) => load.records.some((r) => r.name === name && r.app === app && r.status === 200 && r.sentAt >= since)),
      );
    };
    await track('live-a', await admin.issue('live-a'), '127.0.0.2');
    await track('live-b', await admin.issue('live-b'), '127.0.0.3');

    const revocations: { name: string; returnedAt: number; phase: string }[] = [];
    const victims = async (phase: string) => {
      const viaRedis = await admin.issue(`${phase}-r`);
      const direct = await admin.issue(`${phase}-d`);
      await track(`${phase}-r`, viaRedis);
      await track(`${phase}-d`, direct);
      return { viaRedis, direct };
    };
    const revoke = async (phase: string, pair: { viaRedis: IssuedKey; direct: IssuedKey }) => {
      for (const [name, key, env] of [
        [`${phase}-r`, pair.viaRedis, withRedis],
        [`${phase}-d`, pair.direct, withoutRedis],
      ] as const) {
        const result = await cli(['revoke', key.fingerprint, '--reason', `fault test: ${phase}`], env);
        expect(result.code, result.stderr).toBe(0);
        revocations.push({ name, returnedAt: result.returnedAt, phase });
        // A writer whose Redis is unreachable says so, and still succeeds.
        if (env === withRedis && (phase === 'killed' || phase === 'frozen')) expect(result.stderr).toMatch(/warning: shared cache/);
      }
    };
    const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const checkPhase = (phase: string, from: number) => {
      for (const r of revocations.filter((x) => x.phase === phase)) {
        const outcome = revocationOutcome(load.records, r.name, r.returnedAt, 2);
        log(`${kind} ${phase} ${r.name}: refused after ${outcome.latencies.join(' / ')} ms, ${outcome.wrong} wrong accepts`);
        expect(
          outcome.latencies.every((ms) => ms <= 1000),
          `${r.name} ${outcome.latencies}`,
        ).toBe(true);
      }
      const served = servedRatio(load.records, LIVE, from, Date.now());
      log(`${kind} ${phase}: live keys served ${served}`);
      expect(served).toBeGreaterThanOrEqual(0.99);
    };

    // 1. Normal.
    let from = Date.now();
    await revoke('normal', await victims('normal'));
    await settle(1500);
    checkPhase('normal', from);

    // 2. Redis killed, then keys revoked.
    const killed = await victims('killed');
    from = Date.now();
    await redis.kill();
    await revoke('killed', killed);
    await settle(1500);
    checkPhase('killed', from);

    // 3. Redis back, empty.
    from = Date.now();
    await redis.start();
    await revoke('restarted', await victims('restarted'));
    await settle(1500);
    checkPhase('restarted', from);

    // 4. Redis frozen (its entries say `active`), then keys revoked; 5. thawed.
    const frozen = await victims('frozen');
    from = Date.now();
    redis.freeze();
    await revoke('frozen', frozen);
    await settle(1500);
    checkPhase('frozen', from);
    from = Date.now();
    redis.thaw();
    await settle(2500);
    checkPhase('thawed', from);

    if (pg !== undefined) {
      // 6. PostgreSQL and Redis down together: cached keys serve, unknown keys get 503, nothing revoked passes.
      from = Date.now();
      await redis.kill();
      await pg.stop();
      await settle(1000);
      const unknown = await fetch(`http://127.0.0.1:${apps.ports[0]}/orders`, {
        headers: { authorization: `Bearer ${generateKey('sk_live')}` },
      });
      expect(unknown.status).toBe(503);
      expect(unknown.headers.get('retry-after')).not.toBeNull();
      await settle(1500);
      checkPhase('both-down', from);
      // 7. Both back: everything recovers without a restart.
      await pg.start();
      await redis.start();
      const back = Date.now();
      await until('a new key served after the outage', async () => {
        const fresh = await admin.issue(`after-${Date.now()}`).catch(() => undefined);
        if (fresh === undefined) return false;
        const res = await fetch(`http://127.0.0.1:${apps.ports[1]}/orders`, { headers: { authorization: `Bearer ${fresh.key}` } });
        return res.status === 200;
      });
      log(`${kind}: recovered ${Date.now() - back} ms after both services were back`);
      from = Date.now();
      await revoke('both-back', await victims('both-back'));
      await settle(1500);
      checkPhase('both-back', from);
    }

    // Over the whole run: no revoked key passed more than 1 s after its revoke returned.
    for (const r of revocations) expect(revocationOutcome(load.records, r.name, r.returnedAt, 2).wrong, r.name).toBe(0);
  } finally {
    await cleanup();
  }
}
