// Starts API processes (app.mjs) and keeps a steady keep-alive load on them from several
// loopback source addresses, recording every answer, and revokes keys through the real CLI.
import { execFile, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';

const APP = fileURLToPath(new URL('./app.mjs', import.meta.url));
export const CLI = fileURLToPath(new URL('../../../packages/cli/dist/cli.js', import.meta.url));

/** The environment of a child: no KEYWARD_* or REDIS_URL of the caller leaks in. */
export function childEnv(extra) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('KEYWARD_') && name !== 'REDIS_URL') env[name] = value;
  return { ...env, ...extra };
}

/** Starts `count` API processes; resolves with `{ ports, output(i), stop() }`. */
export async function startApps(count, env) {
  const apps = [];
  for (let i = 0; i < count; i++) {
    const child = spawn(process.execPath, [APP], { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stderr.on('data', (c) => {
      text += c;
    });
    const port = await new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c) => {
        out += c;
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line).port);
      });
      child.once('exit', (code) => reject(new Error(`app exited with ${code}: ${text}`)));
    });
    apps.push({ child, port, output: () => text });
  }
  return {
    ports: apps.map((a) => a.port),
    output: (i) => apps[i].output(),
    async stop() {
      await Promise.all(
        apps.map(
          ({ child }) =>
            new Promise((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve(); // stopped already
              child.once('exit', resolve);
              child.kill('SIGKILL');
            }),
        ),
      );
    },
  };
}

/** Runs the CLI; resolves with `{ code, stdout, stderr, returnedAt }` (Date.now() at exit). */
export function cli(args, env) {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: childEnv(env), timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), returnedAt: Date.now() });
    });
  });
}

/** GET /orders with `key` as a Bearer token on `agent`; resolves with the status (0: no answer). */
export function get(port, agent, key, timeoutMs = 5000) {
  return new Promise((resolve) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path: '/orders',
      agent,
      headers: { authorization: `Bearer ${key}` },
      timeout: timeoutMs,
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end();
  });
}

/**
 * Steady load: every `intervalMs`, one request per (app, key) pair that has none in flight,
 * each pair on its own keep-alive connection from the key's source address (127.0.0.x).
 * Records `{ sentAt, at, app, name, status }` (status 0: no answer).
 */
export function startLoad(ports, { intervalMs = 20, timeoutMs = 3000 } = {}) {
  const pairs = new Map(); // `${app}|${name}` -> { busy, agent }
  const records = [];
  const keys = new Map(); // name -> { key, address }
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    for (const [name, { key, address }] of keys) {
      ports.forEach((port, app) => {
        const id = `${app}|${name}`;
        let pair = pairs.get(id);
        if (pair === undefined) {
          pair = { busy: false, agent: new Agent({ keepAlive: true, maxSockets: 1, localAddress: address }) };
          pairs.set(id, pair);
        }
        if (pair.busy) return;
        pair.busy = true;
        const sentAt = Date.now();
        get(port, pair.agent, key, timeoutMs).then((status) => {
          pair.busy = false;
          if (!stopped) records.push({ sentAt, at: Date.now(), app, name, status });
        });
      });
    }
  };
  const timer = setInterval(tick, intervalMs);
  return {
    records,
    /** Adds a key to the load, sent from `address` (a 127.0.0.x address). */
    add(name, key, address) {
      keys.set(name, { key, address });
    },
    remove(name) {
      keys.delete(name);
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      for (const { agent } of pairs.values()) agent.destroy();
    },
  };
}

/** Waits until `check()` holds, polling. */
export async function until(what, check, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * What the records say of a revoked key: per app, ms from `returnedAt` to the first refusal
 * after which no request was let through (0 when refused before the revoke returned), and
 * the requests let through when sent more than `allowMs` after it returned.
 */
export function revocationOutcome(records, name, returnedAt, apps, allowMs = 1000) {
  const mine = records.filter((r) => r.name === name);
  const wrong = mine.filter((r) => r.status === 200 && r.sentAt > returnedAt + allowMs).length;
  const latencies = [];
  for (let app = 0; app < apps; app++) {
    const seen = mine.filter((r) => r.app === app);
    const lastPass = seen.filter((r) => r.status === 200).reduce((m, r) => Math.max(m, r.sentAt), Number.NEGATIVE_INFINITY);
    const refusal = seen.find((r) => (r.status === 401 || r.status === 429) && r.sentAt > lastPass);
    latencies.push(refusal === undefined ? Number.POSITIVE_INFINITY : Math.max(0, refusal.at - returnedAt));
  }
  return { wrong, latencies };
}

/** Share of requests answered 200 among `names` within [from, to). */
export function servedRatio(records, names, from, to) {
  const mine = records.filter((r) => names.includes(r.name) && r.sentAt >= from && r.sentAt < to);
  if (mine.length === 0) return Number.NaN;
  return mine.filter((r) => r.status === 200).length / mine.length;
}
