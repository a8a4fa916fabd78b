import type { Keyward, Logger } from '@keyward/core';
import { FileSink, fromRedisLock, type PassReport, Scheduler, type SchedulerLock, type SecretSink, WebhookSink } from '@keyward/core';
import { parseDatabaseUrl, parseRedisUrl } from '@keyward/env';
import { UsageError } from './errors.js';
import { checkDuration } from './parse.js';
import type { PassProblem } from './pass-problems.js';

export interface SchedulerFlags {
  sinkDir?: string;
  webhook?: string;
  rotateBefore?: string;
  graceFrom?: string;
  cron?: string;
}

interface Closable {
  close(): Promise<void>;
}

/**
 * Builds the scheduler the way a deployment runs it: the secret sink from flags
 * (`--sink-dir` or `--webhook` with KEYWARD_WEBHOOK_SECRET, never a secret in argv),
 * and a lock so several scheduler processes do not run the same pass: Redis when
 * configured, else a PostgreSQL advisory lock, else none (SQLite: one host).
 */
export async function createScheduler(
  keyward: Keyward,
  flags: SchedulerFlags,
  env: NodeJS.ProcessEnv,
  logger?: Logger,
): Promise<{ scheduler: Scheduler; close(): Promise<void> }> {
  const rotateBefore = checkDuration(flags.rotateBefore, '--rotate-before');
  const graceFrom = flags.graceFrom;
  if (graceFrom !== undefined && graceFrom !== 'rotation' && graceFrom !== 'first-use')
    throw new UsageError(`--grace-from must be "rotation" or "first-use"; got ${JSON.stringify(graceFrom)}`);
  const sink = sinkFrom(flags, env);
  const owned: Closable[] = [];
  let lock: SchedulerLock | undefined;
  const redisUrl = parseRedisUrl(env.KEYWARD_REDIS_URL);
  const target = parseDatabaseUrl(env.KEYWARD_DATABASE_URL);
  if (redisUrl !== undefined) {
    const { RedisLock } = await import('@keyward/redis');
    const redisLock = new RedisLock({ url: redisUrl });
    owned.push(redisLock);
    lock = fromRedisLock(redisLock);
  } else if (target.kind === 'postgres') {
    const { PostgresAdvisoryLock } = await import('@keyward/postgres');
    const pgLock = new PostgresAdvisoryLock({ connectionString: target.connectionString });
    owned.push(pgLock);
    lock = pgLock;
  }
  try {
    const scheduler = new Scheduler(keyward, {
      ...(sink ? { sink } : {}),
      ...(lock ? { lock } : {}),
      ...(rotateBefore ? { rotateBefore } : {}),
      ...(graceFrom ? { graceFrom } : {}),
      ...(flags.cron ? { cron: flags.cron } : {}),
      ...(logger ? { logger } : {}),
      anchors: anchorsFrom(env),
    });
    return {
      scheduler,
      async close() {
        for (const resource of owned) await resource.close().catch(() => undefined);
      },
    };
  } catch (error) {
    for (const resource of owned) await resource.close().catch(() => undefined);
    throw error;
  }
}

/** Audit anchors: always a log line; `KEYWARD_AUDIT_ANCHORS` (a file) and `KEYWARD_AUDIT_ANCHOR_SIGNING_KEY` (Ed25519 PEM) add a file and signatures. */
function anchorsFrom(env: NodeJS.ProcessEnv): { file?: string; signingKey?: string } {
  const file = env.KEYWARD_AUDIT_ANCHORS;
  const signingKey = env.KEYWARD_AUDIT_ANCHOR_SIGNING_KEY;
  return { ...(file ? { file } : {}), ...(signingKey ? { signingKey } : {}) };
}

/** The secret sink named by `--sink-dir` or `--webhook` (the secret from KEYWARD_WEBHOOK_SECRET), if any. */
export function sinkFrom(flags: Pick<SchedulerFlags, 'sinkDir' | 'webhook'>, env: NodeJS.ProcessEnv): SecretSink | undefined {
  if (flags.sinkDir !== undefined && flags.webhook !== undefined) throw new UsageError('use either --sink-dir or --webhook, not both');
  if (flags.sinkDir !== undefined) return new FileSink({ dir: flags.sinkDir });
  if (flags.webhook !== undefined) {
    const secret = env.KEYWARD_WEBHOOK_SECRET;
    if (secret === undefined || secret === '') throw new UsageError('--webhook needs the signing secret in KEYWARD_WEBHOOK_SECRET');
    return new WebhookSink({ url: flags.webhook, secret });
  }
  return undefined;
}

/** One line per pass, for people. */
export function describePass(report: PassReport): string {
  if (report.skippedLocked) return 'another scheduler holds the lock; this pass did nothing';
  const parts = [
    `rotated ${report.rotated}`,
    `delivered ${report.delivered}`,
    `finalized ${report.finalized}`,
    `purged ${report.purged}`,
    `expiring ${report.expiring}`,
    `orphans ${report.orphans}`,
    `recovered ${report.recovered}`,
    `failed ${report.failed}`,
  ];
  // Crashed rotations: only worth a word when there were some.
  if (report.confirmed > 0) parts.push(`confirmed delivered after a crash ${report.confirmed}`);
  if (report.unconfirmed > 0) parts.push(`left open, delivery unknown ${report.unconfirmed}`);
  return `${parts.join(', ')} (${Math.round(report.durationMs)} ms)`;
}

/** The pass line, then one line per failure (step, client, cause) and per orphan found. */
export function describePassWithProblems(report: PassReport, problems: readonly PassProblem[]): string {
  return [describePass(report), ...problems.map((p) => `  ${p.line}`)].join('\n');
}
