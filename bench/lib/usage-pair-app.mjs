// Two Express hello-world apps behind apiKeyAuth in ONE process, for bench:admin: one
// keyward counts per-key usage (the default), the other has `usageCounts: false`. Same
// process, same code placement and JIT: the per-process variance that bench:http works
// around with many instances (up to ~4 % between two identical servers) does not split
// the two modes. Each keyward has its own SqliteStore file.
//   node bench/lib/usage-pair-app.mjs <dir>
// Tells the parent {type:'ready', pid, on: {port, key}, off: {port, key}}; closing stdin shuts it down.
import path from 'node:path';
import { createKeyward } from '@keyward/core';
import { apiKeyAuth } from '@keyward/express';
import { SqliteStore } from '@keyward/sqlite';
import express from 'express';
import { onParentMessages, tell } from './json-child.mjs';

const [dir] = process.argv.slice(2);
const BODY = { hello: 'world' };

async function app(name, options) {
  const store = new SqliteStore({ path: path.join(dir, `usage-${name}.db`) });
  const keyward = createKeyward({ store, ...options });
  const { key } = await keyward.issue(`bench-${name}`, { scopes: ['read'] });
  const server = express();
  server.use(apiKeyAuth({ keyward }));
  server.get('/', (_req, res) => res.json(BODY));
  const listening = await new Promise((resolve) => {
    const s = server.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    port: listening.address().port,
    key,
    close: async () => {
      await new Promise((resolve) => listening.close(resolve));
      await keyward.close();
      await store.close();
    },
  };
}

try {
  const on = await app('on', {});
  const off = await app('off', { usageCounts: false });
  onParentMessages(
    () => {},
    async () => {
      await on.close();
      await off.close();
      process.exit(0);
    },
  );
  tell({ type: 'ready', pid: process.pid, on: { port: on.port, key: on.key }, off: { port: off.port, key: off.key } });
} catch (error) {
  tell({ type: 'error', message: error?.stack ?? String(error) });
  process.exit(1);
}
