import { performance } from 'node:perf_hooks';
import { Cron } from 'croner';
import { AuditAnchorPublisher } from '../audit/anchor-publisher.js';
import type { Keyward } from '../keyward.js';
import { errorFields } from '../logger.js';
import { type PassContext, runStep } from './pass-context.js';
import { RateLimiter } from './rate-limiter.js';
import { emptySummary, type PassReport, type SchedulerEventMap, type SchedulerEventName, SchedulerEvents } from './scheduler-events.js';
import { resolveSchedulerOptions, type SchedulerConfig, type SchedulerOptions } from './scheduler-options.js';
import { finalizeDueRotations, purgeRetired } from './step-maintain.js';
import { sendExpiryNotices } from './step-notices.js';
import { detectOrphans } from './step-orphans.js';
import { recoverStaleRotations } from './step-recover.js';
import { rotateDueKeys } from './step-rotate.js';

/**
 * Runs the rotation engine: on a cron schedule (`start()`), or one pass at a time
 * (`tick()`, e.g. from an external cron or a Kubernetes CronJob). Each pass settles
 * crashed rotations (confirmed delivered, rolled back, or left open when unknown),
 * rotates keys near expiry and delivers their successors, finalizes rotations whose
 * grace ended, purges retired keys and reports orphans.
 * Every step tolerates one client's failure and goes on.
 *
 * Several processes may run schedulers on one store: with a `lock` only one pass
 * runs at a time; without one (or when the lock fails) they all run, and the
 * store's compare-and-set plus idempotency tokens still make each due rotation
 * happen exactly once.
 */
export class Scheduler {
  readonly config: SchedulerConfig;
  private readonly events: SchedulerEvents;
  private readonly notices: RateLimiter;
  private cron: Cron | undefined;
  private running: Promise<PassReport> | undefined;
  private last: PassReport | undefined;
  private lastSuccess: number | undefined;
  /** Publishes audit anchors each pass (`undefined` with `anchors: false`). */
  readonly anchors: AuditAnchorPublisher | undefined;

  constructor(
    private readonly keyward: Keyward,
    options: SchedulerOptions = {},
  ) {
    this.config = resolveSchedulerOptions(keyward, options);
    this.events = new SchedulerEvents(this.config.logger);
    this.notices = new RateLimiter(this.config.noticeIntervalMs);
    const { anchors, logger } = this.config;
    this.anchors = anchors && new AuditAnchorPublisher(keyward.config.store, keyward.config.clock, logger, anchors);
  }

  /** Subscribes to `pass`, `delivered` or `deliveryFailed`; returns the unsubscribe function. */
  on<E extends SchedulerEventName>(name: E, listener: (event: SchedulerEventMap[E]) => unknown): () => void {
    return this.events.on(name, listener);
  }

  /** The last finished pass, if any. */
  get lastPass(): PassReport | undefined {
    return this.last;
  }

  /** Keyward-clock time when the last pass ended with every step run, if any. */
  get lastSuccessAt(): number | undefined {
    return this.lastSuccess;
  }

  /** `true` between `start()` and `stop()`. */
  get started(): boolean {
    return this.cron !== undefined;
  }

  /** When the cron schedule fires next (`null` when stopped). */
  nextRun(): Date | null {
    return this.cron?.nextRun() ?? null;
  }

  /** Starts the cron schedule (idempotent). A pass never overlaps the previous one. */
  start(): void {
    if (this.cron) return;
    const { cron, timezone, runOnStart } = this.config;
    this.cron = new Cron(cron, { protect: true, ...(timezone ? { timezone } : {}) }, () => this.tick().then(() => undefined));
    if (runOnStart) void this.tick();
  }

  /** Stops the schedule and waits for a running pass to finish. */
  async stop(): Promise<void> {
    this.cron?.stop();
    this.cron = undefined;
    await this.running?.catch(() => undefined);
  }

  /** Runs one pass now (or joins the one already running) and resolves with its report. Never rejects. */
  tick(): Promise<PassReport> {
    if (!this.running) {
      this.running = this.lockedPass().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  private async lockedPass(): Promise<PassReport> {
    const { lock, lockName, lockTtlMs, logger } = this.config;
    if (!lock) return this.pass();
    let handle: Awaited<ReturnType<typeof lock.acquire>>;
    try {
      handle = await lock.acquire(lockName, lockTtlMs);
    } catch (error) {
      logger.warn({ lock: lockName, ...errorFields(error) }, 'keyward: scheduler lock unavailable; running the pass without it');
      return this.pass();
    }
    if (handle === null)
      return this.finish({ ...emptySummary(), skippedLocked: true }, this.keyward.config.clock.now(), performance.now(), true);
    const extend = handle.extend?.bind(handle);
    const keepAlive = extend
      ? setInterval(
          () => {
            extend(lockTtlMs).catch((error: unknown) =>
              logger.warn({ lock: lockName, ...errorFields(error) }, 'keyward: could not extend the scheduler lock'),
            );
          },
          Math.max(1000, Math.floor(lockTtlMs / 3)),
        )
      : undefined;
    keepAlive?.unref();
    try {
      return await this.pass();
    } finally {
      clearInterval(keepAlive);
      await handle
        .release()
        .catch((error: unknown) => logger.warn({ lock: lockName, ...errorFields(error) }, 'keyward: could not release the scheduler lock'));
    }
  }

  private async pass(): Promise<PassReport> {
    const startedAt = this.keyward.config.clock.now();
    const t0 = performance.now();
    const ctx: PassContext = {
      keyward: this.keyward,
      config: this.config,
      events: this.events,
      notices: this.notices,
      summary: emptySummary(),
      stepsFailed: 0,
    };
    await runStep(ctx, 'prepare sink', async () => this.config.sink?.prepare?.());
    await runStep(ctx, 'recover', () => recoverStaleRotations(ctx));
    await runStep(ctx, 'rotate', () => rotateDueKeys(ctx));
    await runStep(ctx, 'finalize', () => finalizeDueRotations(ctx));
    await runStep(ctx, 'purge', () => purgeRetired(ctx));
    await runStep(ctx, 'orphans', () => detectOrphans(ctx));
    await runStep(ctx, 'notices', () => sendExpiryNotices(ctx));
    const anchors = this.anchors;
    if (anchors) await runStep(ctx, 'anchor', async () => void (await anchors.maybePublish()));
    return this.finish(ctx.summary, startedAt, t0, ctx.stepsFailed === 0);
  }

  private finish(summary: PassReport | ReturnType<typeof emptySummary>, startedAt: number, t0: number, ok: boolean): PassReport {
    const finishedAt = this.keyward.config.clock.now();
    const report: PassReport = { ...summary, startedAt, finishedAt, durationMs: performance.now() - t0, ok };
    this.last = report;
    if (ok && !report.skippedLocked) this.lastSuccess = finishedAt;
    const { logger } = this.config;
    if (!report.skippedLocked) {
      const { rotated, delivered, finalized, purged, expiring, orphans, recovered, confirmed, unconfirmed, failed } = report;
      const line = {
        event: 'scheduler.pass',
        rotated,
        delivered,
        finalized,
        purged,
        expiring,
        orphans,
        recovered,
        confirmed,
        unconfirmed,
        failed,
        durationMs: Math.round(report.durationMs),
        ok,
      };
      if (ok && failed === 0) logger.info(line, 'keyward: scheduler pass done');
      else logger.warn(line, 'keyward: scheduler pass done with failures');
    } else
      logger.debug({ event: 'scheduler.pass', skippedLocked: true }, 'keyward: scheduler pass skipped: another process holds the lock');
    this.events.emit('pass', report);
    return report;
  }
}
