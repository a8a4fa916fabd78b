// bench:client — @keyward/client (issue 14), three measures in one run:
// 1. overhead_ratio: requests/s of the client's fetch over bare fetch (same keep-alive
//    agent, the same local server answering a plain 200), rounds interleaved, median
//    of per-round ratios. The server does no auth, so this is the client's own cost.
// 2. failed_requests: a real keyward API (Express, core + MemoryStore); CONCURRENCY loops
//    of client traffic while the client rotates ROTATIONS times, and after each rotation
//    the server finalizes it (the old key dies at once, as at grace end): every non-200 counts.
// 3. switch_p99_ms: three clients, each its own FileStore on one shared key file and
//    steady traffic; the key nears its expiry so the server sends Sunset; from the first
//    response with Sunset seen by any client to all three on the new key. SWITCHES runs;
//    p99. The three clients share this process (the three-process test in
//    test/client/three-processes.test.ts checks separate processes: < 2 s).
// Run from the repo root: `pnpm run bench:client` (builds first) or `node bench/client.mjs`.
// Ends with: RESULT overhead_ratio=… failed_requests=… switch_p99_ms=…
// Env: BENCH_ROUNDS (10), BENCH_ROUND_MS (1000), BENCH_ROTATIONS (100), BENCH_SWITCHES (20).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyward, MemoryStore } from '@keyward/core';
import { apiKeyAuth, apiKeyRotationRouter } from '@keyward/express';
import express from 'express';
import { createKeyClient, FileStore, MemoryKeyStore } from '../packages/client/dist/index.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 1000);
const ROTATIONS = Number(process.env.BENCH_ROTATIONS ?? 100);
const SWITCHES = Number(process.env.BENCH_SWITCHES ?? 20);
const CONCURRENCY = 8;
const dir = mkdtempSync(join(tmpdir(), 'keyward-bench-client-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const listen = (handler) =>
  new Promise((done) => {
    const server = createServer(handler).listen(0, '127.0.0.1', () => done({ server, url: `http://127.0.0.1:${server.address().port}` }));
  });

async function overhead() {
  const { server, url } = await listen((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"ok":true}');
  });
  const client = createKeyClient({ baseUrl: url, store: new MemoryKeyStore('sk_bench_0123456789abcdef0123456789abcdef') });
  const loop = async (f) => {
    let n = 0;
    const end = performance.now() + ROUND_MS;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < end) {
          const res = await f(`${url}/x`);
          await res.arrayBuffer();
          n++;
        }
      }),
    );
    return n / (ROUND_MS / 1000);
  };
  await loop(fetch);
  await loop(client.fetch); // warm-up of both
  const ratios = [];
  const rows = [];
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? ['bare', 'client'] : ['client', 'bare'];
    const r = {};
    for (const which of order) r[which] = await loop(which === 'bare' ? fetch : client.fetch);
    ratios.push(r.client / r.bare);
    rows.push(r);
  }
  server.close();
  server.closeAllConnections();
  console.log(
    `overhead: bare ${median(rows.map((r) => r.bare)).toFixed(0)} req/s, client ${median(rows.map((r) => r.client)).toFixed(0)} req/s (medians over ${ROUNDS} rounds of ${ROUND_MS} ms, ${CONCURRENCY} concurrent, keep-alive)`,
  );
  return median(ratios);
}

async function keywardApi(options = {}) {
  const keyward = createKeyward({ store: new MemoryStore(), grace: '1h', ...options });
  const app = express();
  app.use(apiKeyRotationRouter({ keyward }));
  app.use(apiKeyAuth({ keyward }));
  app.get('/orders', (_req, res) => res.json({ ok: true }));
  const { server, url } = await listen(app);
  const close = async () => {
    server.closeAllConnections();
    server.close();
    await keyward.close();
  };
  return { keyward, url, close };
}

async function failedAcrossRotations() {
  const api = await keywardApi();
  const issued = await api.keyward.issue('bench-rotations');
  const path = join(dir, 'rotations.key');
  writeFileSync(path, `${issued.key}\n`, { mode: 0o600 });
  const client = createKeyClient({ baseUrl: api.url, store: new FileStore({ path }) });
  let failed = 0;
  let ok = 0;
  let running = true;
  const traffic = Array.from({ length: CONCURRENCY }, async () => {
    while (running) {
      try {
        const res = await client.fetch(`${api.url}/orders`);
        await res.arrayBuffer();
        if (res.status === 200) ok++;
        else failed++;
      } catch {
        failed++;
      }
    }
  });
  const started = performance.now();
  for (let i = 0; i < ROTATIONS; i++) {
    await client.rotate();
    await sleep(5); // the new key gets used under load
    const [open] = await api.keyward.listRotations('bench-rotations', { open: true });
    await api.keyward.finalize(open.rotationId); // the old key is dead from now on
  }
  running = false;
  await Promise.all(traffic);
  console.log(`rotations: ${ROTATIONS} in ${((performance.now() - started) / 1000).toFixed(1)} s, ${ok} requests ok, ${failed} failed`);
  client.close();
  await api.close();
  return failed;
}

async function switchTimes() {
  const api = await keywardApi({ sunsetBeforeExpiry: '3d' });
  const times = [];
  for (let run = 0; run < SWITCHES; run++) {
    const issued = await api.keyward.issue(`bench-switch-${run}`, { ttl: '2d' }); // within sunsetBeforeExpiry: Sunset at once
    const path = join(dir, `switch-${run}.key`);
    writeFileSync(path, `${issued.key}\n`, { mode: 0o600 });
    let firstSunset;
    const seeing = async (input, init) => {
      const res = await fetch(input, init);
      if (firstSunset === undefined && res.headers.has('sunset')) firstSunset = performance.now();
      return res;
    };
    const clients = [0, 1, 2].map(() =>
      createKeyClient({ baseUrl: api.url, store: new FileStore({ path }), fetch: seeing, rotateBefore: 0 }),
    );
    await Promise.all(clients.map((c) => c.currentKey()));
    const switchedAt = [undefined, undefined, undefined];
    let running = true;
    const loops = clients.map(async (c, i) => {
      while (running) {
        const res = await c.fetch(`${api.url}/orders`);
        await res.arrayBuffer();
        if (switchedAt[i] === undefined && (await c.currentKey()) !== issued.key) switchedAt[i] = performance.now();
        if (switchedAt.every((t) => t !== undefined)) running = false;
        await sleep(5);
      }
    });
    await Promise.race([Promise.all(loops), sleep(10_000)]);
    running = false;
    await Promise.all(loops);
    for (const c of clients) c.close();
    times.push(switchedAt.every((t) => t !== undefined) ? Math.max(...switchedAt) - firstSunset : Number.POSITIVE_INFINITY);
  }
  await api.close();
  console.log(`switch: ${SWITCHES} runs, median ${median(times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`);
  return percentile(times, 99);
}

try {
  const ratio = await overhead();
  const failed = await failedAcrossRotations();
  const p99 = await switchTimes();
  console.log(`RESULT overhead_ratio=${ratio.toFixed(3)} failed_requests=${failed} switch_p99_ms=${p99.toFixed(0)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
