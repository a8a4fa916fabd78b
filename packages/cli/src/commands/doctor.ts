import type { Keyward } from '@keyward/core';
import { parseDatabaseUrl, parseRedisUrl } from '@keyward/env';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { describeValue } from '../describe.js';
import { describeError, OperationError } from '../errors.js';
import { anchorCheck, appRoleCheck } from './doctor-audit.js';
import { type Check, databaseChecks } from './doctor-database.js';

/** Largest clock difference we accept between this host and a server before warning. */
const MAX_SKEW_MS = 2000;

export function registerDoctor(program: Command, run: CommandContext['run']): void {
  program
    .command('doctor')
    .description('check the database, schema version, Redis and clock; say what is wrong in plain words')
    .action(() =>
      run(
        async ({ keyward, connection, out }) => {
          const checks: Check[] = [];
          const target = parseDatabaseUrl(connection.env.KEYWARD_DATABASE_URL);
          const where = target.kind === 'sqlite' ? `SQLite ${target.path}` : `PostgreSQL ${describeValue(target.connectionString)}`;
          checks.push(...(await databaseChecks(keyward, where)));
          if (checks.every((c) => c.ok)) checks.push(await knownKeysCheck(keyward));
          if (checks.every((c) => c.ok))
            checks.push(await appRoleCheck(keyward), await anchorCheck(keyward, connection.env.KEYWARD_AUDIT_ANCHORS));
          if (target.kind === 'postgres') checks.push(await postgresClock(target.connectionString));
          const redisUrl = parseRedisUrl(connection.env.KEYWARD_REDIS_URL);
          if (redisUrl === undefined)
            checks.push({
              name: 'redis',
              ok: true,
              detail: 'not configured (KEYWARD_REDIS_URL unset): one process, or the store change feed',
            });
          else checks.push(...(await redisChecks(redisUrl)));
          if (out.json) out.data({ ok: checks.every((c) => c.ok), checks });
          else for (const c of checks) out.info(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(9)} ${c.detail}`);
          const failed = checks.filter((c) => !c.ok);
          if (failed.length > 0) throw new OperationError(`${failed.length} check(s) failed: ${failed.map((c) => c.name).join(', ')}`);
        },
        { migrate: false },
      ),
    );
}

/**
 * The known-keys filter as each app process builds it at start (this process builds
 * one the same way): its size, memory, false-positive rate and build time, so an
 * operator sees what a flood of made-up keys would meet.
 */
async function knownKeysCheck(keyward: Keyward): Promise<Check> {
  if (keyward.knownKeysStatus() === undefined)
    return { name: 'filter', ok: true, detail: 'known-keys filter off (knownKeys.filter false, or no change log)' };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(resolve, 10_000, 'timeout');
  });
  const ready = await Promise.race([keyward.knownKeysReady().then(() => 'ready' as const), timeout]);
  clearTimeout(timer);
  const status = keyward.knownKeysStatus();
  if (ready === 'timeout' || status === undefined || !status.ready)
    return {
      name: 'filter',
      ok: false,
      detail: 'could not build the known-keys filter within 10 s: every unknown key would cost a store lookup',
    };
  const mib = (status.bytes / 1024 / 1024).toFixed(2);
  const rate = (status.falsePositiveRate * 100).toPrecision(2);
  return {
    name: 'filter',
    ok: true,
    detail: `known-keys filter: ${status.keys} key(s) in ${mib} MiB, built in ${status.buildMs} ms; ${rate} % of made-up keys would reach the store`,
  };
}

function skewCheck(server: string, serverMs: number, before: number, after: number): Check {
  const local = (before + after) / 2;
  const skew = Math.round(serverMs - local);
  const ok = Math.abs(skew) <= MAX_SKEW_MS;
  return {
    name: 'clock',
    ok,
    detail: ok
      ? `this host and ${server} agree within ${Math.abs(skew)} ms`
      : `this host's clock is ${Math.abs(skew)} ms ${skew > 0 ? 'behind' : 'ahead of'} ${server}: grace and expiry would be decided at the wrong time; fix NTP`,
  };
}

async function postgresClock(connectionString: string): Promise<Check> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const before = Date.now();
    const { rows } = await client.query<{ ms: string }>('SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint AS ms');
    return skewCheck('PostgreSQL', Number(rows[0]?.ms), before, Date.now());
  } catch (error) {
    return { name: 'clock', ok: false, detail: `could not read PostgreSQL's clock: ${describeError(error)}` };
  } finally {
    await client.end().catch(() => {});
  }
}

async function redisChecks(url: string): Promise<Check[]> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 3000,
    retryStrategy: () => null,
  });
  // ioredis rejects connect() with "Connection is closed." once it gives up; the
  // reason (refused, timed out, auth, TLS) arrives on 'error' first: keep it.
  let lastError: unknown;
  client.on('error', (error: unknown) => {
    lastError = error;
  });
  try {
    await client.connect();
    const started = performance.now();
    await client.ping();
    const rtt = performance.now() - started;
    const before = Date.now();
    const [seconds, micros] = await client.time();
    const clock = skewCheck('Redis', Number(seconds) * 1000 + Number(micros) / 1000, before, Date.now());
    return [{ name: 'redis', ok: true, detail: `${describeValue(url)} answers PING in ${rtt.toFixed(1)} ms` }, clock];
  } catch (error) {
    return [
      {
        name: 'redis',
        ok: false,
        detail: `${describeValue(url)} failed: ${redisCause(lastError ?? error)} (keys not already cached would be answered from the store)`,
      },
    ];
  } finally {
    client.disconnect();
  }
}

/** A Redis failure in words: the driver's message, with its code when the message lacks it. */
function redisCause(error: unknown): string {
  const message = describeError(error);
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message;
}
