// bench:http — requests/s and p99 latency of each framework's hello-world, without and with
// keyward's apiKeyAuth (a cached key), side by side in one run. Goal (issue 6): with auth
// >= 0.95 of the baseline for Express and Nest, >= 0.90 for Koa.
// Run from the repo root: `pnpm run bench:http` (builds first) or `node bench/http.mjs`.
//
// Per framework, the server processes run at once (bench/lib/http-app.mjs): the baseline app
// (a plain JSON route) and the same app behind keyward (SqliteStore on a temp file; after the
// first request the key is answered from memory: the LRU, then each keep-alive
// connection's memo, the hot path measured here). Both get the same request,
// `Authorization: Bearer <key>`. autocannon runs here, in the parent; with taskset and two
// or more CPUs it is pinned to CPU 0 and every server to CPU 1, so they do not trade cores
// (and caches) between rounds (BENCH_PIN=0 leaves placement to the OS). Rounds alternate
// (the order rotates every round) after a discarded warm-up of each server (5 s: Express and
// Nest servers still got faster after 2 s, which flattered whichever side warmed less).
//
// Instances: two processes running the *same* app differ by up to ~4 % in req/s for their
// whole life (code and heap placement; seen with two identical Koa servers, 1.036 over 10
// rounds, every round within 1.030–1.038). Medians over rounds cannot remove that, so each
// framework is measured on BENCH_INSTANCES fresh sets of server processes, each with its
// own warm-up and rounds. An instance's ratio is its median auth req/s over its median
// baseline req/s; the framework's ratio is the median of its instances' ratios. Beside req/s
// and latency, each server reports its own CPU time, so CPU µs per request shows what auth
// costs even when the load generator is the limit.
// Ends with one line:
//   RESULT express_ratio=… koa_ratio=… nest_ratio=… fastify_ratio=… hono_ratio=…   (median over instances of median auth req/s / median baseline req/s)
// Env: BENCH_INSTANCES (default 4), BENCH_ROUNDS (rounds per instance, default 6), BENCH_ROUND_MS (2000),
// BENCH_WARMUP_MS (5000), BENCH_CONNECTIONS (10), BENCH_FRAMEWORKS (express,koa,nest,fastify,hono), BENCH_MODES
// (baseline,auth; also empty, noop, verify, core, idle and floor, see bench/lib/http-app.mjs),
// BENCH_PIN (1), BENCH_CPU_PROF=<dir> (write a --cpu-prof of each server there, sampled every 50 µs).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { JsonChild, median, percentile } from './lib/json-child.mjs';
import { runBench } from './lib/run-bench.mjs';

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 2000);
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 5000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const FRAMEWORKS = (process.env.BENCH_FRAMEWORKS ?? 'express,koa,nest,fastify,hono').split(',');
const MODES = [...new Set(['baseline', 'auth', ...(process.env.BENCH_MODES ?? '').split(',').filter(Boolean)])];
const GOALS = { express: 0.95, koa: 0.9, nest: 0.95, fastify: 0.95, hono: 0.95 };
const APP = fileURLToPath(new URL('./lib/http-app.mjs', import.meta.url));
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
const PIN = process.env.BENCH_PIN !== '0';

/**
 * Pins every thread of `pid` to `cpu` with taskset (util-linux); false when that is not
 * possible (one CPU, no taskset). With two cores, autocannon on one and the server on
 * the other stop trading places and caches between rounds.
 */
function pin(pid, cpu) {
  if (!PIN || os.cpus().length < 2) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
let pinned = false;

const tmp = mkdtempSync(path.join(os.tmpdir(), 'keyward-bench-http-'));
const running = new Set();

/** Starts one server process and waits until it listens. */
async function startServer(framework, mode, instance) {
  const execArgv = PROFILE_DIR
    ? [
        '--cpu-prof',
        '--cpu-prof-interval=50',
        `--cpu-prof-dir=${path.resolve(PROFILE_DIR)}`,
        `--cpu-prof-name=${framework}-${mode}-${instance}.cpuprofile`,
      ]
    : [];
  const db = path.join(tmp, `${framework}-${mode}-${instance}.db`);
  const child = new JsonChild(APP, [framework, mode, db], { name: `${framework} ${mode} server`, execArgv });
  running.add(child);
  const ready = await child.next('ready');
  if (pinned) pin(ready.pid, 1);
  return { mode, child, port: ready.port, key: ready.key };
}

/** The server process's CPU time so far, in µs (user + system). */
async function cpuOf(child) {
  child.send({ type: 'cpu' });
  const { user, system } = await child.next('cpu');
  return user + system;
}

/**
 * One autocannon run against `server`; returns req/s (2xx only), latency percentiles in ms
 * (from autocannon's 'response' events, which carry fractions of a ms, unlike its histogram)
 * and the server's CPU µs per request.
 */
async function load(server, ms) {
  const cpuBefore = await cpuOf(server.child);
  const latencies = [];
  const run = autocannon({
    url: `http://127.0.0.1:${server.port}/`,
    connections: CONNECTIONS,
    duration: ms / 1000,
    headers: { authorization: `Bearer ${server.sendKey}` },
  });
  run.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
  const result = await run;
  const cpuAfter = await cpuOf(server.child);
  if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
    throw new Error(`${server.mode}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx responses`);
  }
  const sorted = Float64Array.from(latencies).sort();
  return {
    rps: result['2xx'] / result.duration,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    cpuUs: (cpuAfter - cpuBefore) / result['2xx'],
    busy: (cpuAfter - cpuBefore) / 1000 / (result.duration * 1000),
  };
}

/** Checks that every server answers 200 to the bench request, and that the auth app refuses a request without a key. */
async function sanity(servers) {
  const get = (server, headers = {}) => fetch(`http://127.0.0.1:${server.port}/`, { headers }).then((r) => r.status);
  for (const server of servers) {
    const status = await get(server, { authorization: `Bearer ${server.sendKey}` });
    if (status !== 200) throw new Error(`sanity check: ${server.mode} answered ${status} to the bench request`);
    if (server.mode === 'auth' && (await get(server)) !== 401) throw new Error('sanity check: the auth app let a request without a key in');
  }
}

const summary = (xs) => {
  const m = (field) => median(xs.map((x) => x[field]));
  return { rps: m('rps'), p50: m('p50'), p99: m('p99'), cpuUs: m('cpuUs'), minCpuUs: Math.min(...xs.map((x) => x.cpuUs)), busy: m('busy') };
};

/** One instance: fresh server processes for every mode, a warm-up, then `ROUNDS` alternating rounds. */
async function benchInstance(framework, instance) {
  const servers = [];
  for (const mode of MODES) servers.push(await startServer(framework, mode, instance));
  const authKey = servers.find((s) => s.mode === 'auth').key;
  for (const server of servers) server.sendKey = server.key ?? authKey;
  await sanity(servers);
  for (const server of servers) await load(server, WARMUP_MS); // warm-up (JIT tiers, heap sizing, connections), discarded
  const rounds = Object.fromEntries(MODES.map((mode) => [mode, []]));
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate the order every round, so no mode always runs first (or right after another).
    const order = servers.map((_, i) => servers[(i + r) % servers.length]);
    for (const server of order) rounds[server.mode].push(await load(server, ROUND_MS));
  }
  for (const server of servers) {
    await server.child.stop();
    running.delete(server.child);
  }
  const ratioOf = (mode) => median(rounds[mode].map((x) => x.rps)) / median(rounds.baseline.map((x) => x.rps));
  return { rounds, ratios: Object.fromEntries(MODES.map((mode) => [mode, ratioOf(mode)])) };
}

async function benchFramework(framework) {
  const instances = [];
  for (let i = 0; i < INSTANCES; i++) instances.push(await benchInstance(framework, i));
  // Every round of every instance, for the req/s, latency and CPU figures.
  const rounds = Object.fromEntries(MODES.map((mode) => [mode, instances.flatMap((x) => x.rounds[mode])]));
  const stats = Object.fromEntries(MODES.map((mode) => [mode, summary(rounds[mode])]));
  const ratios = Object.fromEntries(MODES.map((mode) => [mode, median(instances.map((x) => x.ratios[mode]))]));
  return { framework, stats, ratio: ratios.auth, ratios, instances, rounds };
}

function report(r) {
  const fmt = (n) => Math.round(n).toLocaleString('en-US').padStart(8);
  const base = r.stats.baseline;
  console.log(`${r.framework}`);
  for (const mode of MODES) {
    const x = r.stats[mode];
    console.log(
      `  ${mode.padEnd(9)} ${fmt(x.rps)} req/s  p50 ${x.p50.toFixed(2)} ms  p99 ${x.p99.toFixed(2)} ms  ` +
        `server CPU ${x.cpuUs.toFixed(1).padStart(5)} µs/req (lowest ${x.minCpuUs.toFixed(1)}, ` +
        `${mode === 'baseline' ? 'baseline' : `${x.cpuUs - base.cpuUs >= 0 ? '+' : ''}${(x.cpuUs - base.cpuUs).toFixed(1)}`}), busy ${Math.round(x.busy * 100)}%`,
    );
  }
  const verdict = r.ratio >= GOALS[r.framework] ? 'met' : 'NOT met';
  const instanceRatios = (mode) => r.instances.map((x) => x.ratios[mode].toFixed(3)).join(' ');
  console.log(
    `  ratio auth/baseline ${r.ratio.toFixed(3)} (goal >= ${GOALS[r.framework]}: ${verdict}); per instance ${instanceRatios('auth')}; ` +
      `CPU ratio baseline/auth ${(base.cpuUs / r.stats.auth.cpuUs).toFixed(3)}`,
  );
  for (const mode of MODES.filter((m) => m !== 'baseline' && m !== 'auth')) {
    console.log(`  ratio ${mode}/baseline ${r.ratios[mode].toFixed(3)}; per instance ${instanceRatios(mode)}`);
  }
  for (const mode of MODES) {
    const xs = r.rounds[mode];
    console.log(
      `    ${mode.padEnd(9)} req/s ${xs.map((x) => Math.round(x.rps)).join(' ')}  µs/req ${xs.map((x) => x.cpuUs.toFixed(0)).join(' ')}`,
    );
  }
}

async function main() {
  pinned = pin(process.pid, 0);
  const cpu = os.cpus();
  console.log(
    `keyward bench: HTTP hello-world without and with apiKeyAuth (cached key: SqliteStore on a temp file, answered from the LRU), ` +
      `node ${process.version}, ${cpu.length} cpus (${cpu[0]?.model ?? '?'}), load average ${os.loadavg()[0].toFixed(2)}`,
  );
  console.log(
    `  autocannon ${CONNECTIONS} connections in this process${pinned ? ' (CPU 0)' : ''}, each server in its own process${pinned ? ' (CPU 1)' : ''}; per framework a ` +
      `discarded warm-up of ${WARMUP_MS / 1000} s per server, then ${ROUNDS} rounds of ${ROUND_MS / 1000} s, alternating; ` +
      `${INSTANCES} instances (fresh server processes); ratio = median over instances\n`,
  );
  const results = [];
  for (const framework of FRAMEWORKS) {
    const r = await benchFramework(framework);
    results.push(r);
    report(r);
  }
  console.log(
    `\nload average at the end ${os.loadavg()[0].toFixed(2)} (other processes on this machine skew single rounds; medians resist that)`,
  );
  if (PROFILE_DIR) console.log(`CPU profiles of the servers written to ${path.resolve(PROFILE_DIR)}`);
  const ratio = (name) => results.find((r) => r.framework === name)?.ratio.toFixed(3) ?? 'n/a';
  console.log(
    `RESULT express_ratio=${ratio('express')} koa_ratio=${ratio('koa')} nest_ratio=${ratio('nest')} ` +
      `fastify_ratio=${ratio('fastify')} hono_ratio=${ratio('hono')}`,
  );
}

async function cleanup() {
  await Promise.all([...running].map((child) => child.stop()));
  rmSync(tmp, { recursive: true, force: true });
}

await runBench(main, cleanup);
