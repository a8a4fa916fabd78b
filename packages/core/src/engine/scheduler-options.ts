import { Cron } from 'croner';
import { type AuditAnchorConfig, type AuditAnchorOptions, resolveAnchorOptions } from '../audit/anchor-options.js';
import { type Duration, formatDuration, parseDuration } from '../duration.js';
import { invalidOption } from '../errors.js';
import type { Keyward } from '../keyward.js';
import { type Logger, silentLogger } from '../logger.js';
import type { SchedulerLock } from './lock.js';
import type { SecretSink } from './secret-sink.js';

export interface SchedulerOptions {
  /** When passes run (croner syntax, 5 or 6 fields). Default `*\/15 * * * *` (every 15 minutes). */
  cron?: string;
  /** IANA time zone for `cron`. Default: the process's. */
  timezone?: string;
  /** Rotate an active key once it is this close to expiry. Default `7d`. */
  rotateBefore?: Duration;
  /**
   * What starts the old key's grace in scheduled rotations. Default `'first-use'`: an
   * unattended rotation cannot know when the consumer picks its new key up (a deploy
   * freeze, a weekend, a lost webhook), so the old key stays until the new one is used
   * (plus the grace), at the latest `maxWait` (the keyward option) or its own expiry.
   * `'rotation'`: a fixed grace from the rotation.
   */
  graceFrom?: 'rotation' | 'first-use';
  /**
   * Lead times before a key's expiry at which `key.expiring` is raised (through the alert
   * sinks), once per key and lead time across schedulers and restarts (recorded in the
   * store). `false` or `[]` for none. Default `['14d', '3d', '1d']`.
   */
  expiryNotices?: readonly Duration[] | false;
  /**
   * Delivers the new key of each scheduled rotation. Without one the scheduler does
   * not rotate: it raises `key.expiring` (with `daysLeft`) so the client can pull a
   * new key. Default: none.
   */
  sink?: SecretSink;
  /**
   * A `started` rotation older than this is taken as the trace of a crash (its
   * plaintext is gone): marked delivered when its key was used or the sink holds it,
   * failed (its pending key revoked) only when the sink is sure it never got it,
   * else left open and reported. Must exceed the longest delivery (with the webhook
   * sink's retries). Default `1h`.
   */
  staleAfter?: Duration;
  /** After a failed or aborted rotation of a key, wait this long before trying again. Default `1h`. */
  retryAfter?: Duration;
  /** `key.expiring` and `key.orphaned` are raised at most once per key (and problem) per this interval. Default `24h`. */
  noticeInterval?: Duration;
  /** Keeps other scheduler processes from running the same pass at once. Default: none (every pass runs). */
  lock?: SchedulerLock;
  /** Name of the lock. Default `keyward:scheduler`. */
  lockName?: string;
  /** How long the lock is held before it expires (extended while a pass runs, if the lock can). Default `15m`. */
  lockTtl?: Duration;
  /** Clients rotated or finalized in parallel within a pass. Default `8`. */
  concurrency?: number;
  /** Written to the audit trail as the actor of scheduled operations. Default `keyward-scheduler`. */
  actor?: string;
  /** Run one pass as soon as `start()` is called, before the first cron time. Default `false`. */
  runOnStart?: boolean;
  /** A pino logger. Default: the keyward instance's logger. */
  logger?: Logger;
  /**
   * Publish the audit chain's head (an anchor) each pass once `everyRows` rows were
   * appended or `every` passed: a pino line, plus optional alert sinks, an append-only
   * file and an Ed25519 signature. `false` turns anchors off. Default: on, log line only.
   */
  anchors?: false | AuditAnchorOptions;
}

export interface SchedulerConfig {
  readonly cron: string;
  readonly timezone: string | undefined;
  readonly rotateBeforeMs: number;
  readonly graceFrom: 'rotation' | 'first-use';
  /** Lead times in ms, each with its label (as configured, e.g. `14d`). */
  readonly expiryNotices: readonly { readonly ms: number; readonly label: string }[];
  readonly sink: SecretSink | undefined;
  readonly staleAfterMs: number;
  readonly retryAfterMs: number;
  readonly noticeIntervalMs: number;
  readonly lock: SchedulerLock | undefined;
  readonly lockName: string;
  readonly lockTtlMs: number;
  readonly concurrency: number;
  readonly actor: string;
  readonly runOnStart: boolean;
  readonly logger: Logger;
  readonly anchors: AuditAnchorConfig | undefined;
}

const name = (option: string) => `Scheduler.${option}`;

function checkCron(pattern: unknown, timezone: string | undefined): string {
  if (typeof pattern !== 'string' || pattern.trim() === '') throw invalidOption(name('cron'), pattern, 'must be a cron expression');
  try {
    // Paused and stopped at once: parses the pattern (and zone) without scheduling anything.
    new Cron(pattern, { paused: true, ...(timezone ? { timezone } : {}) }).stop();
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw invalidOption(name(timezone ? 'cron/timezone' : 'cron'), pattern, `must be a valid cron expression (${why})`);
  }
  return pattern;
}

/** Validates the scheduler options. Never mutates `options`; throws naming the option and its value. */
export function resolveSchedulerOptions(keyward: Keyward, options: SchedulerOptions = {}): SchedulerConfig {
  if (typeof options !== 'object' || options === null) throw invalidOption(name('options'), options, 'must be an object');
  if (typeof keyward !== 'object' || keyward === null || typeof keyward.startRotation !== 'function') {
    throw invalidOption(name('keyward'), keyward, 'must be a Keyward instance');
  }
  const { sink, lock } = options;
  if (
    sink !== undefined &&
    (typeof sink !== 'object' || sink === null || typeof sink.deliver !== 'function' || typeof sink.name !== 'string')
  ) {
    throw invalidOption(name('sink'), sink, 'must be a SecretSink ({ name, deliver() })');
  }
  if (lock !== undefined && (typeof lock !== 'object' || lock === null || typeof lock.acquire !== 'function')) {
    throw invalidOption(name('lock'), lock, 'must be a SchedulerLock ({ acquire() }); see fromRedisLock');
  }
  const timezone = options.timezone;
  if (timezone !== undefined && (typeof timezone !== 'string' || timezone === ''))
    throw invalidOption(name('timezone'), timezone, 'must be an IANA zone name');
  const concurrency = options.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
    throw invalidOption(name('concurrency'), concurrency, 'must be an integer from 1 to 256');
  }
  const actor = options.actor ?? 'keyward-scheduler';
  if (typeof actor !== 'string' || actor === '' || actor.length > 200) throw invalidOption(name('actor'), actor, 'must be a short string');
  const lockName = options.lockName ?? 'keyward:scheduler';
  if (typeof lockName !== 'string' || lockName === '' || lockName.length > 200)
    throw invalidOption(name('lockName'), lockName, 'must be a short string');
  if (options.runOnStart !== undefined && typeof options.runOnStart !== 'boolean')
    throw invalidOption(name('runOnStart'), options.runOnStart, 'must be a boolean');
  const logger = options.logger ?? keyward.config.logger ?? silentLogger;
  if (typeof logger !== 'object' || typeof (logger as Logger).warn !== 'function')
    throw invalidOption(name('logger'), logger, 'must be a pino-style logger');
  const notices = options.expiryNotices ?? ['14d', '3d', '1d'];
  if (notices !== false && !Array.isArray(notices))
    throw invalidOption(name('expiryNotices'), notices, 'must be an array of durations or false');
  const expiryNotices =
    notices === false
      ? []
      : notices.map((d, i) => ({
          ms: parseDuration(d, name(`expiryNotices[${i}]`)),
          label: typeof d === 'string' ? d : formatDuration(d),
        }));
  const graceFrom = options.graceFrom ?? 'first-use';
  if (graceFrom !== 'rotation' && graceFrom !== 'first-use')
    throw invalidOption(name('graceFrom'), graceFrom, 'must be "rotation" or "first-use"');
  const lockTtlMs = parseDuration(options.lockTtl ?? '15m', name('lockTtl'));
  if (lockTtlMs < 1000) throw invalidOption(name('lockTtl'), options.lockTtl, 'must be at least 1s');
  const staleAfterMs = parseDuration(options.staleAfter ?? '1h', name('staleAfter'));
  if (staleAfterMs < 1000) throw invalidOption(name('staleAfter'), options.staleAfter, 'must be at least 1s');
  return {
    cron: checkCron(options.cron ?? '*/15 * * * *', timezone),
    timezone,
    rotateBeforeMs: parseDuration(options.rotateBefore ?? '7d', name('rotateBefore')),
    graceFrom,
    expiryNotices,
    sink,
    staleAfterMs,
    retryAfterMs: parseDuration(options.retryAfter ?? '1h', name('retryAfter')),
    noticeIntervalMs: parseDuration(options.noticeInterval ?? '24h', name('noticeInterval')),
    lock,
    lockName,
    lockTtlMs,
    concurrency,
    actor,
    runOnStart: options.runOnStart ?? false,
    logger,
    anchors: options.anchors === false ? undefined : resolveAnchorOptions(options.anchors ?? {}, name('anchors')),
  };
}
