// bench:faults — issue 20's measure: two API processes on PostgreSQL (a cluster of the
// bench's own) with a Redis the bench starts, kills, restarts empty and freezes, under
// keep-alive load from several loopback addresses. In every phase where the store is up,
// keys are revoked through a writer that has Redis and through one that does not; the
// bench records when each API first refused each key. The same run measures the baseline:
// the same APIs as keyward ran before it followed the store's change log (bus only), for the
// two writers in the normal phase.
//
// RESULT wrong_accepts=… revoke_p99_ms=… live_served=… outage_served=… colocated_served=…
//        recovery_ms=… burst_lookups=… baseline_wrong_accepts=… baseline_unheard=…
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKeyward, generateKey } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import { RedisInvalidationBus, RedisKeyCache } from '@keyward/redis';
import { revocationOutcome, servedRatio, startApps, startLoad, until } from '../test/support/faults/fleet.mjs';
import { startPostgresCluster } from '../test/support/faults/postgres-cluster.mjs';
import { startRedisProcess } from '../test/support/faults/redis-process.mjs';
import { runBench } from './lib/run-bench.mjs';

const PER_PHASE = Number(process.env.FAULTS_PER_PHASE ?? 4); // revocations per writer per phase
const LIVE = ['live-1', 'live-2', 'live-3', 'colocated-live'];
const log = (line) => console.error(line);
const cleanups = [];

async function fleet(databaseUrl, redis, baseline) {
  const env = { KEYWARD_DATABASE_URL: databaseUrl, KEYWARD_REDIS_URL: redis.url, ...(baseline ? { FAULTS_BASELINE: '1' } : {}) };
  const apps = await startApps(2, env);
  cleanups.push(() => apps.stop());
  const load = startLoad(apps.ports, { intervalMs: 40 });
  cleanups.push(async () => load.stop());
  return { apps, load };
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

/** 1,000 concurrent requests with distinct well-formed unknown keys from one address; answers the store lookups they caused. */
async function burst(port) {
  const lookups = async () => (await (await fetch(`http://127.0.0.1:${port}/__lookups`)).json()).unknownLookups;
  const before = await lookups();
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY, localAddress: '127.0.0.99' });
  const statuses = await Promise.all(
    Array.from(
      { length: 1000 },
      () =>
        new Promise((resolve) => {
          const req = request({
            host: '127.0.0.1',
            port,
            path: '/orders',
            agent,
            headers: { authorization: `Bearer ${generateKey('sk_live')}` },
          });
          req.on('response', (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode));
          });
          req.on('error', () => resolve(0));
          req.end();
        }),
    ),
  );
  agent.destroy();
  await sleep(200);
  const counts = {};
  for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
  return { lookups: (await lookups()) - before, counts };
}

async function main() {
  const redis = await startRedisProcess();
  cleanups.push(() => redis.destroy());
  const pg = await startPostgresCluster();
  cleanups.push(() => pg.destroy());
  log(`bench:faults: PostgreSQL on ${pg.port}, Redis on ${redis.port}, ${PER_PHASE} revocations per writer per phase`);

  const store = new PostgresStore({ connectionString: pg.url });
  await store.migrate();
  // The writers: one with Redis (cache write-through + publish), one that never reaches it.
  const direct = createKeyward({ store, changes: { interval: false } });
  const cache = new RedisKeyCache({ url: redis.url });
  const bus = new RedisInvalidationBus({ url: redis.url });
  const viaRedis = createKeyward({ store, cache, bus, changes: { interval: false } });
  cleanups.push(
    () => direct.close(),
    () => viaRedis.close(),
    () => cache.close(),
    () => bus.close(),
    () => store.close(),
  );

  // --- baseline: keyward without the change log (bus only), normal phase ---
  let baselineWrong = 0;
  let baselineUnheard = 0;
  {
    const { apps, load } = await fleet(pg.url, redis, true);
    const victims = [];
    for (let i = 0; i < PER_PHASE; i++)
      for (const writer of ['redis', 'direct'])
        victims.push({ name: `base-${writer}-${i}`, writer, key: await direct.issue(`base-${writer}-${i}`) });
    let address = 10;
    for (const v of victims) load.add(v.name, v.key.key, `127.0.0.${address++}`);
    await until('baseline victims served', () =>
      victims.every((v) => [0, 1].every((app) => load.records.some((r) => r.name === v.name && r.app === app && r.status === 200))),
    );
    const revoked = [];
    for (const v of victims) {
      await (v.writer === 'redis' ? viaRedis : direct).revoke(v.key.id, { reason: 'bench baseline' });
      revoked.push({ ...v, returnedAt: Date.now() });
      await sleep(100);
    }
    await sleep(3000);
    for (const v of revoked) {
      const outcome = revocationOutcome(load.records, v.name, v.returnedAt, 2);
      baselineWrong += outcome.wrong;
      baselineUnheard += outcome.latencies.filter((ms) => !Number.isFinite(ms) || ms > 1000).length;
    }
    log(
      `baseline (bus only): ${baselineWrong} wrong accepts, ${baselineUnheard} of ${revoked.length * 2} (revocation, API) pairs not heard within 1 s`,
    );
    load.stop();
    await apps.stop();
    await redis.kill();
    await redis.start();
  }

  // --- keyward as it is ---
  const { apps, load } = await fleet(pg.url, redis, false);
  let address = 10;
  const warm = async (name, key, at = `127.0.0.${address++}`) => {
    load.add(name, key, at);
    const since = Date.now();
    await until(`${name} served`, () =>
      [0, 1].every((app) => load.records.some((r) => r.name === name && r.app === app && r.status === 200 && r.sentAt >= since)),
    );
  };
  for (const name of ['live-1', 'live-2', 'live-3']) await warm(name, (await direct.issue(name)).key);
  // One address shared by a healthy key and a retired one (a stale client behind one NAT).
  await warm('colocated-live', (await direct.issue('colocated-live')).key, '127.0.0.50');
  const stale = await direct.issue('colocated-stale');
  await warm('colocated-stale', stale.key, '127.0.0.50');
  await direct.revoke(stale.id, { reason: 'the stale client keeps using it' });

  const burstResult = await burst(apps.ports[0]);
  log(
    `burst: 1000 concurrent unknown keys from one address → ${burstResult.lookups} store lookups; statuses ${JSON.stringify(burstResult.counts)}`,
  );

  const phases = [];
  const revocations = [];
  const victims = async (phase) => {
    const made = [];
    for (let i = 0; i < PER_PHASE; i++) {
      for (const writer of ['redis', 'direct']) {
        const name = `${phase}-${writer}-${i}`;
        made.push({ name, writer, key: await direct.issue(name) });
      }
    }
    for (const v of made) await warm(v.name, v.key.key);
    return made;
  };
  const revokeAll = async (phase, made) => {
    for (const v of made) {
      await (v.writer === 'redis' ? viaRedis : direct).revoke(v.key.id, { reason: `bench: ${phase}` });
      revocations.push({ ...v, phase, returnedAt: Date.now() });
      await sleep(50);
    }
  };
  const phase = async (name, body) => {
    const from = Date.now();
    await body();
    phases.push({ name, from, to: Date.now() });
  };

  await phase('normal', async () => {
    await revokeAll('normal', await victims('normal'));
    await sleep(1500);
  });
  const beforeKill = await victims('killed');
  await phase('redis killed', async () => {
    await redis.kill();
    await revokeAll('killed', beforeKill);
    await sleep(1500);
  });
  await phase('redis back empty', async () => {
    await redis.start();
    await revokeAll('restarted', await victims('restarted'));
    await sleep(1500);
  });
  const beforeFreeze = await victims('frozen');
  await phase('redis frozen', async () => {
    redis.freeze();
    await revokeAll('frozen', beforeFreeze);
    await sleep(1500);
  });
  await phase('thawed', async () => {
    redis.thaw();
    await revokeAll('thawed', await victims('thawed'));
    await sleep(1500);
  });
  let unknownStatus = 0;
  await phase('postgres+redis down', async () => {
    await redis.kill();
    await pg.stop();
    await sleep(500);
    const res = await fetch(`http://127.0.0.1:${apps.ports[0]}/orders`, { headers: { authorization: `Bearer ${generateKey('sk_live')}` } });
    unknownStatus = res.status;
    await sleep(2500);
  });
  let recoveryMs = Number.NaN;
  await phase('both back', async () => {
    await pg.start();
    await redis.start();
    const back = Date.now();
    // Recovered: a key issued now (in no cache anywhere) is served by both APIs, and every live key is.
    await until(
      'recovery',
      async () => {
        const fresh = await direct.issue(`after-${Date.now()}`).catch(() => undefined);
        if (fresh === undefined) return false;
        const statuses = await Promise.all(
          apps.ports.map(
            async (port) => (await fetch(`http://127.0.0.1:${port}/orders`, { headers: { authorization: `Bearer ${fresh.key}` } })).status,
          ),
        );
        return statuses.every((s) => s === 200) && servedRatio(load.records, LIVE, Date.now() - 200, Date.now()) === 1;
      },
      30_000,
    );
    recoveryMs = Date.now() - back;
    await revokeAll('both-back', await victims('both-back'));
    await sleep(1500);
  });
  load.stop();

  let wrong = 0;
  const latencies = [];
  for (const r of revocations) {
    const outcome = revocationOutcome(load.records, r.name, r.returnedAt, 2);
    wrong += outcome.wrong;
    latencies.push(...outcome.latencies);
  }
  // Revoked keys must stay refused for the rest of the run, through every later phase.
  const colocatedStaleWrong = load.records.filter(
    (r) => r.name === 'colocated-stale' && r.status === 200 && r.sentAt > phases[0].from,
  ).length;
  wrong += colocatedStaleWrong;

  log('\nphase                  live served   colocated served   revocations   p99 refused after (ms)');
  let liveServed = 1;
  let outageServed = 1;
  for (const p of phases) {
    const live = servedRatio(
      load.records,
      LIVE.filter((n) => n !== 'colocated-live'),
      p.from,
      p.to,
    );
    const colocated = servedRatio(load.records, ['colocated-live'], p.from, p.to);
    const mine = revocations.filter((r) => r.returnedAt >= p.from && r.returnedAt < p.to);
    const lat = mine.flatMap((r) => revocationOutcome(load.records, r.name, r.returnedAt, 2).latencies);
    log(
      `${p.name.padEnd(22)} ${live.toFixed(4).padStart(11)}   ${colocated.toFixed(4).padStart(16)}   ${String(mine.length).padStart(11)}   ${lat.length ? percentile(lat, 99) : '-'}`,
    );
    if (p.name === 'postgres+redis down') outageServed = Math.min(outageServed, live);
    else liveServed = Math.min(liveServed, live);
  }
  const colocatedServed = servedRatio(load.records, ['colocated-live'], phases[0].from, Date.now());
  log(`unknown key while PostgreSQL and Redis were down: HTTP ${unknownStatus}`);
  log(`requests: ${load.records.length}`);
  const p99 = percentile(latencies, 99);
  console.log(
    `RESULT wrong_accepts=${wrong} revoke_p99_ms=${Number.isFinite(p99) ? p99 : 'inf'} live_served=${liveServed.toFixed(4)} outage_served=${outageServed.toFixed(4)} colocated_served=${colocatedServed.toFixed(4)} recovery_ms=${recoveryMs} burst_lookups=${burstResult.lookups} baseline_wrong_accepts=${baselineWrong} baseline_unheard=${baselineUnheard}`,
  );
}

await runBench(main, async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});
