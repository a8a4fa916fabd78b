// A verifier process for bench/redis.mjs (revocation-to-rejection latency). Like an API
// process: PostgresStore + RedisKeyCache + RedisInvalidationBus on one injected ioredis
// client (as the @keyward/redis README recommends). Env: REDIS_URL, DATABASE_URL,
// KEYWARD_SCHEMA, KEYWARD_NAMESPACE, POLL_MS (default 1).
// Protocol (JSON lines): the parent sends {type:'keys', keys:[...]}; this process verifies
// each once (filling its LRU), answers {type:'ready'} when all are valid, then verifies every
// key not yet refused, pass after pass (a timer of POLL_MS between passes, so bus messages
// are handled), and tells {type:'flip', index, at: Date.now(), reason} the first time a key
// is refused. Closing stdin stops it.
import { createKeyward } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import { RedisInvalidationBus, RedisKeyCache } from '@keyward/redis';
import { Redis } from 'ioredis';
import { onParentMessages, tell } from './json-child.mjs';

const { REDIS_URL, DATABASE_URL, KEYWARD_SCHEMA, KEYWARD_NAMESPACE } = process.env;
const POLL_MS = Number(process.env.POLL_MS ?? 1);

const client = new Redis(REDIS_URL, { enableOfflineQueue: false, lazyConnect: true });
client.on('error', () => {});
const store = new PostgresStore({ connectionString: DATABASE_URL, schema: KEYWARD_SCHEMA, migrate: false });
const cache = new RedisKeyCache({ client, namespace: KEYWARD_NAMESPACE });
const bus = new RedisInvalidationBus({ client, namespace: KEYWARD_NAMESPACE });
const keyward = createKeyward({ store, cache, bus });
let running = true;
let loop;

async function watch(keys) {
  for (const key of keys) {
    const result = await keyward.verify(key);
    if (!result.valid) throw new Error(`a fresh key was refused (${result.reason})`);
  }
  tell({ type: 'ready' });
  let pending = keys.map((_, index) => index);
  let verifications = 0;
  while (running && pending.length > 0) {
    const still = [];
    for (const index of pending) {
      const result = await keyward.verify(keys[index]);
      verifications++;
      if (result.valid) still.push(index);
      else tell({ type: 'flip', index, at: Date.now(), reason: result.reason });
    }
    pending = still;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  tell({ type: 'done', verifications });
}

process.on('unhandledRejection', (error) => {
  tell({ type: 'error', message: `unhandled rejection: ${error?.message ?? error}` });
});

onParentMessages(
  (message) => {
    if (message.type === 'keys') {
      loop = watch(message.keys).catch((error) => tell({ type: 'error', message: error.message }));
    }
  },
  async () => {
    running = false;
    await loop;
    await keyward.close();
    await Promise.all([store.close(), cache.close(), bus.close()]);
    client.disconnect();
    process.exit(0);
  },
);

if ((await keyward.subscribe()) === undefined) tell({ type: 'error', message: 'could not subscribe to the invalidation bus' });
else tell({ type: 'subscribed', pid: process.pid });
