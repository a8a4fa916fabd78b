import type { Clock } from '../clock.js';
import type { KeyChangeEntry, KeyChangeLog } from '../key-store.js';
import { errorFields, type Logger } from '../logger.js';
import type { VersionFloor } from './version-floor.js';

/** What the follower does to this process when the log says a key changed. */
export interface ChangeTarget {
  /** The key changed to `version` (or was deleted): drop it from the in-process caches unless they hold that version already. */
  applyChange(keyHash: string, version: number, deleted: boolean): void;
  /** Changes were missed: every cached entry must be re-confirmed. */
  clear(): void;
}

export interface ChangeFollowerConfig {
  readonly log: KeyChangeLog;
  readonly target: ChangeTarget;
  readonly floor: VersionFloor;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How often the log is read when nothing wakes the follower. */
  readonly intervalMs: number;
  /** How far back a starting process (or one that missed changes) replays the log. */
  readonly replayWindowMs: number;
  /** Changes older than this are trimmed from the log, every `trimIntervalMs`. */
  readonly retentionMs: number;
  readonly trimIntervalMs: number;
  /** Changes read per query. */
  readonly pageSize: number;
}

/** What `status()` reports: for health checks, `keyward doctor` and tests. */
export interface ChangeFollowerStatus {
  readonly running: boolean;
  /** The last seq applied to this process. */
  readonly lastSeq: number;
  /** The window replay is done (shared-cache entries are checked against the log). */
  readonly ready: boolean;
  /** When the log was last read successfully (the clock's ms), or `null`. */
  readonly lastReadAt: number | null;
  /** The last read failed (the store is unreachable). */
  readonly failing: boolean;
}

/**
 * Follows the store's change log (DESIGN.md: "the bus is a fast path, not the
 * truth"). Each process knows the last seq it applied and reads on from it every
 * `intervalMs`, whatever the bus does, and at once when woken (a bus message, a bus
 * reset): a writer that never reached Redis, or a message Redis lost, is heard
 * within one interval while the store is reachable. Each change drops the key from
 * this process's caches and raises its version floor, so an older shared-cache
 * entry is not believed. A gap in the log (trimmed before it was read) clears the
 * caches and replays the window.
 *
 * One read at a time: a wake-up during a read runs one more read after it.
 */
export class ChangeFollower {
  private lastSeq = 0;
  private started = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private lastReadAt: number | null = null;
  private failing = false;
  private lastTrim = 0;
  private starting: Promise<void> | undefined;

  constructor(private readonly config: ChangeFollowerConfig) {}

  /**
   * Replays the window, then follows. Resolves when the replay is done; a failed
   * replay is retried by the timer (entries stay unchecked until it succeeds).
   */
  start(): Promise<void> {
    if (this.starting !== undefined) return this.starting;
    this.started = true;
    this.lastTrim = this.config.clock.now();
    this.timer = setInterval(() => this.wake(), this.config.intervalMs);
    this.timer.unref();
    this.starting = this.read();
    return this.starting;
  }

  /** Read the log now (coalesced with a read in flight). */
  wake(): void {
    if (!this.started || this.stopped) return;
    void this.read();
  }

  /** Reads until the log is exhausted; resolves when this process has applied everything committed before the call. */
  read(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.reading === undefined) {
      this.reading = this.readLoop().finally(() => {
        this.reading = undefined;
      });
      return this.reading;
    }
    // A read is in flight and may have started before the caller's commit: queue one more.
    this.queued ??= this.reading.then(() => {
      this.queued = undefined;
      return this.stopped ? undefined : this.read();
    });
    return this.queued;
  }

  /** Stops following; resolves when a read in flight has ended (so the store may be closed). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.reading?.catch(() => undefined);
  }

  status(): ChangeFollowerStatus {
    return {
      running: this.started && !this.stopped,
      lastSeq: this.lastSeq,
      ready: this.config.floor.isReady,
      lastReadAt: this.lastReadAt,
      failing: this.failing,
    };
  }

  private async readLoop(): Promise<void> {
    const { log, floor, logger } = this.config;
    try {
      if (!floor.isReady) await this.replay();
      for (;;) {
        const page = await log.readChanges({ afterSeq: this.lastSeq, limit: this.config.pageSize });
        if (page.gap) {
          logger.warn(
            { lastSeq: this.lastSeq, resumeAt: page.lastSeq },
            'keyward: changes were trimmed before this process read them; re-confirming every cached key',
          );
          this.config.target.clear();
          floor.markUnready();
          await this.replay();
          continue;
        }
        this.apply(page.changes);
        this.lastSeq = Math.max(this.lastSeq, page.lastSeq);
        if (page.changes.length < this.config.pageSize) break;
      }
      this.recovered();
      await this.trimIfDue();
    } catch (error) {
      if (!this.failing) logger.warn(errorFields(error), 'keyward: could not read the change log; retrying every interval');
      this.failing = true;
    }
  }

  /** Raises the floors of every change in the window and positions the reader at its end. */
  private async replay(): Promise<void> {
    const { log, floor, clock, pageSize } = this.config;
    let page = await log.readChanges({ since: clock.now() - this.config.replayWindowMs, limit: pageSize });
    for (;;) {
      this.apply(page.changes);
      const position = page.lastSeq;
      if (page.changes.length < pageSize) {
        this.lastSeq = Math.max(this.lastSeq, position);
        break;
      }
      page = await log.readChanges({ afterSeq: position, limit: pageSize });
      if (page.gap) page = { ...page, changes: [] }; // trimmed while replaying: older than the window anyway
    }
    floor.markReady();
  }

  private apply(changes: readonly KeyChangeEntry[]): void {
    for (const change of changes) {
      // Floor first: a lookup that starts after the invalidation already sees it.
      this.config.floor.raise(change.keyHash, change.status, change.version);
      this.config.target.applyChange(change.keyHash, change.version, change.status === 'deleted');
    }
  }

  private recovered(): void {
    this.lastReadAt = this.config.clock.now();
    if (this.failing) this.config.logger.info({ lastSeq: this.lastSeq }, 'keyward: reading the change log again');
    this.failing = false;
  }

  private async trimIfDue(): Promise<void> {
    const now = this.config.clock.now();
    if (now - this.lastTrim < this.config.trimIntervalMs) return;
    this.lastTrim = now;
    try {
      const deleted = await this.config.log.trimChanges(now - this.config.retentionMs);
      if (deleted > 0) this.config.logger.debug({ deleted }, 'keyward: trimmed the change log');
    } catch (error) {
      this.config.logger.debug(errorFields(error), 'keyward: change log trim skipped');
    }
  }
}
