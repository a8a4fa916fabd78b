// Part (b) of bench/redis.mjs: revocation-to-rejection latency across processes. Verifier
// child processes (bench/lib/revocation-verifier.mjs) keep verifying a set of keys; this
// process revokes them one at a time and each verifier reports when it first refused each
// key. Both sides stamp with Date.now() (same machine, same clock).
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createKeyward } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import { RedisInvalidationBus, RedisKeyCache } from '@keyward/redis';
import { Redis } from 'ioredis';
import { JsonChild } from './json-child.mjs';

const VERIFIER = fileURLToPath(new URL('./revocation-verifier.mjs', import.meta.url));

/**
 * Revokes `count` keys, spaced `gapMs[0]`..`gapMs[1]` ms apart, with `verifiers` processes
 * watching. Resolves with `{ samples, revokeMs, missed }`: one sample per (revocation,
 * verifier) with `afterReturn` (first refusal - revoke() returned) and `afterCall` (first
 * refusal - revoke() called), in ms.
 */
export async function revocationLatency({ redisUrl, databaseUrl, pool, schema, namespace, count, verifiers, gapMs, running, log }) {
  const client = new Redis(redisUrl, { enableOfflineQueue: false, lazyConnect: true });
  client.on('error', () => {});
  const store = new PostgresStore({ pool, schema, migrate: false });
  const cache = new RedisKeyCache({ client, namespace });
  const bus = new RedisInvalidationBus({ client, namespace });
  const admin = createKeyward({ store, cache, bus });
  const children = [];
  const flips = []; // per verifier: Map(index -> { at, reason })
  try {
    log(`  (b) issuing ${count} keys, starting ${verifiers} verifier processes`);
    const issued = [];
    for (let i = 0; i < count; i++) issued.push(await admin.issue(`bench-revoke-${i}`));
    for (let v = 0; v < verifiers; v++) {
      const seen = new Map();
      flips.push(seen);
      const child = new JsonChild(VERIFIER, [], {
        name: `verifier ${v + 1}`,
        env: { REDIS_URL: redisUrl, DATABASE_URL: databaseUrl, KEYWARD_SCHEMA: schema, KEYWARD_NAMESPACE: namespace },
        onMessage: (m) => {
          if (m.type !== 'flip') return false;
          if (!seen.has(m.index)) seen.set(m.index, m);
          return true;
        },
      });
      running.add(child);
      children.push({ child, seen });
    }
    for (const { child } of children) await child.next('subscribed');
    for (const { child } of children) child.send({ type: 'keys', keys: issued.map((k) => k.key) });
    for (const { child } of children) await child.next('ready');

    log(`  (b) revoking ${count} keys one at a time, ${gapMs[0]}-${gapMs[1]} ms apart`);
    const revocations = [];
    for (let i = 0; i < count; i++) {
      await sleep(gapMs[0] + Math.random() * (gapMs[1] - gapMs[0]));
      const called = Date.now();
      await admin.revoke(issued[i].id, { reason: 'bench' });
      revocations.push({ called, returned: Date.now() });
    }
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && children.some(({ seen }) => seen.size < count)) await sleep(20);

    const samples = [];
    let missed = 0;
    let wrongReason = 0;
    for (const { seen } of children) {
      for (let i = 0; i < count; i++) {
        const flip = seen.get(i);
        if (flip === undefined) {
          missed++;
          continue;
        }
        if (flip.reason !== 'revoked') wrongReason++;
        samples.push({ afterReturn: flip.at - revocations[i].returned, afterCall: flip.at - revocations[i].called });
      }
    }
    if (wrongReason > 0) throw new Error(`${wrongReason} keys were refused for another reason than "revoked"`);
    const revokeMs = revocations.map((r) => r.returned - r.called);
    return { samples, revokeMs, missed };
  } finally {
    for (const { child } of children) {
      await child.stop();
      running.delete(child);
    }
    await admin.close();
    client.disconnect();
  }
}
