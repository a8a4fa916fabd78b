// Part (a) of bench/redis.mjs: Redis commands per verification, counted by Redis itself
// (INFO commandstats deltas) on a redis-server of the bench's own, for a cached key, a key
// in Redis but not in the LRU, a key in neither, malformed keys and well-formed unknown keys.
// The verifier under test is a Keyward with PostgresStore + RedisKeyCache + RedisInvalidationBus
// (one injected client); keys are issued by a second Keyward, as another process would.
import { setTimeout as sleep } from 'node:timers/promises';
import { createKeyward, generateKey } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import { RedisInvalidationBus, RedisKeyCache } from '@keyward/redis';
import { Redis } from 'ioredis';
import { callDelta, commandCalls } from './redis-server.mjs';

/** Commands the cache's Lua script runs inside EVALSHA (INFO commandstats counts them too). */
export const IN_SCRIPT = new Set(['type', 'pttl', 'hset', 'pexpire', 'del']);

/**
 * Commands sent on a timer, not per verification: the bus subscriber's heartbeat PING (every
 * `heartbeatInterval`, 200 ms, so a frozen Redis is noticed). Shown, not counted as round trips.
 */
export const ON_A_TIMER = new Set(['ping']);

/** Round trips (commands a client sent per verification) in a commandstats delta: all but the in-script and timer ones. */
export const roundTrips = (delta) =>
  Object.entries(delta).reduce((n, [name, calls]) => n + (IN_SCRIPT.has(name) || ON_A_TIMER.has(name) ? 0 : calls), 0);

const injected = (url) => {
  const client = new Redis(url, { enableOfflineQueue: false, lazyConnect: true });
  client.on('error', () => {});
  return client;
};

/** Runs `fn(item)` over `items` with at most `limit` in flight. */
async function pool(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** Malformed keys of every kind: bad checksum, wrong prefix, bad length, bad alphabet, garbage. */
function malformedKeys(n, prefix) {
  const keys = [];
  for (let i = 0; keys.length < n; i++) {
    const good = generateKey(prefix);
    const last = good.at(-1) === 'A' ? 'B' : 'A';
    const variants = [
      `${good.slice(0, -1)}${last}`, // checksum no longer matches
      `sk_test_${good.slice(prefix.length + 1)}`,
      good.slice(0, -2),
      `${good.slice(0, 20)}-${good.slice(21)}`,
      `garbage-${i}`,
    ];
    keys.push(variants[i % variants.length]);
  }
  return keys;
}

/**
 * Measures every case; resolves with one row per case:
 * `{ name, verifications, delta, roundTrips, storeLookups, clientSent }`.
 */
export async function countCommands({ url, pool: pgPool, schema, namespace, log }) {
  const probe = new Redis(url);
  probe.on('error', () => {});
  const adminClient = injected(url);
  const verifierClient = injected(url);
  // What this verifier's client sent, by command, as a cross-check of Redis's own counts.
  const sent = {};
  const sendCommand = verifierClient.sendCommand.bind(verifierClient);
  verifierClient.sendCommand = (command, stream) => {
    sent[command.name] = (sent[command.name] ?? 0) + 1;
    return sendCommand(command, stream);
  };
  const adminStore = new PostgresStore({ pool: pgPool, schema, migrate: false });
  const adminCache = new RedisKeyCache({ client: adminClient, namespace });
  const admin = createKeyward({ store: adminStore, cache: adminCache, bus: new RedisInvalidationBus({ client: adminClient, namespace }) });
  const storeOnly = createKeyward({ store: adminStore }); // issues keys that never reach Redis
  const store = new PostgresStore({ pool: pgPool, schema, migrate: false });
  let storeLookups = 0;
  const findKeyByHash = store.findKeyByHash.bind(store);
  store.findKeyByHash = (hash) => {
    storeLookups++;
    return findKeyByHash(hash);
  };
  const verifierBus = new RedisInvalidationBus({ client: verifierClient, namespace });
  const verifier = createKeyward({ store, cache: new RedisKeyCache({ client: verifierClient, namespace }), bus: verifierBus });
  if ((await verifier.subscribe()) === undefined) throw new Error('the verifier could not subscribe to the bus');
  const negativeTtlMs = verifier.config.negativeTtlMs;
  const rows = [];

  /** Counts what `fn` (making `verifications` calls) costs in Redis, after letting fire-and-forget fills land. */
  async function measure(name, verifications, fn) {
    const before = await commandCalls(probe);
    const sent0 = { ...sent };
    const lookups0 = storeLookups;
    const extra = await fn();
    await sleep(200);
    const delta = callDelta(before, await commandCalls(probe));
    const clientSent = Object.fromEntries(
      Object.entries(sent)
        .map(([k, v]) => [k, v - (sent0[k] ?? 0)])
        .filter(([, v]) => v > 0),
    );
    const row = { name, verifications, delta, roundTrips: roundTrips(delta), storeLookups: storeLookups - lookups0, clientSent, ...extra };
    rows.push(row);
    return row;
  }
  const expect = (result, reason) => {
    if ((result.valid ? 'valid' : result.reason) !== reason)
      throw new Error(`expected ${reason}, got ${result.valid ? 'valid' : result.reason}`);
  };

  try {
    const N = 10_000;
    const M = 500;
    log(`  (a) issuing keys (${2 * M + 1} keys, half written through to Redis, half to the store only)`);
    const cached = await admin.issue('bench-cached');
    const inRedis = [];
    for (let i = 0; i < M; i++) inRedis.push((await admin.issue(`bench-warm-${i % 50}`)).key);
    const coldKeys = [];
    for (let i = 0; i < M; i++) coldKeys.push((await storeOnly.issue(`bench-cold-${i % 50}`)).key);
    await sleep(200); // bus messages of the issues reach the verifier before we count
    expect(await verifier.verify(cached.key), 'valid'); // into the LRU

    await measure('cached key (in the LRU)', N, async () => {
      for (let i = 0; i < N; i++) expect(await verifier.verify(cached.key), 'valid');
    });
    await measure('key in Redis, not in the LRU', M, async () => {
      for (const key of inRedis) expect(await verifier.verify(key), 'valid');
    });
    await measure('key in neither (store, then fill)', M, async () => {
      for (const key of coldKeys) expect(await verifier.verify(key), 'valid');
    });
    const malformed = malformedKeys(N, verifier.config.prefix);
    await measure('malformed keys', N, async () => {
      for (const key of malformed) expect(await verifier.verify(key), 'malformed');
    });

    // Well-formed unknown keys: N distinct, 3 passes within one negative-cache TTL, then
    // (once every negative entry has expired) 2 more passes: a second TTL window.
    const unknown = Array.from({ length: N }, () => generateKey(verifier.config.prefix));
    let firstPassEnd = 0;
    await measure(`${N.toLocaleString('en-US')} unknown keys x3, TTL window 1`, 3 * N, async () => {
      const start = Date.now();
      await pool(unknown, 32, async (key) => expect(await verifier.verify(key), 'unknown'));
      firstPassEnd = Date.now();
      for (let pass = 0; pass < 2; pass++) for (const key of unknown) expect(await verifier.verify(key), 'unknown');
      return { distinct: N, elapsedMs: Date.now() - start, firstPassMs: firstPassEnd - start };
    });
    await sleep(Math.max(0, firstPassEnd + negativeTtlMs + 100 - Date.now()));
    await measure(`${N.toLocaleString('en-US')} unknown keys x2, TTL window 2`, 2 * N, async () => {
      const start = Date.now();
      await pool(unknown, 32, async (key) => expect(await verifier.verify(key), 'unknown'));
      for (const key of unknown) expect(await verifier.verify(key), 'unknown');
      return { distinct: N, elapsedMs: Date.now() - start };
    });
    return { rows, negativeTtlMs };
  } finally {
    await verifier.close();
    await Promise.all([admin.close(), storeOnly.close(), verifierBus.close()]);
    for (const client of [adminClient, verifierClient, probe]) client.disconnect();
  }
}
