import type { Clock } from '../clock.js';
import { type ConsoleQueries, HOUR_MS, type UsageBucket } from '../console/console-queries.js';
import { errorFields, type Logger } from '../logger.js';
import { FlushTimer } from './flush-timer.js';

/** One key's requests in one hour, counted in memory until the next flush. */
export interface UsageCounter {
  readonly keyId: string;
  readonly hour: number;
  /** The flush generation this counter belongs to: once flushed, a request takes a new one. */
  readonly generation: number;
  valid: number;
  grace: number;
}

/**
 * Per-key, per-hour request counts (the console's rotation progress), off the hot
 * path: an accepted request increments a counter its LRU entry holds (no map lookup,
 * no I/O), and a timer writes the counters in one `addUsage` batch per flush
 * interval. A failed write keeps its counts for the next flush. Counts are a view for
 * operators, not a lifecycle fact: a crash loses at most one interval of them.
 */
export class UsageCounts {
  private generation = 0;
  private pending: UsageCounter[] = [];
  private readonly timer: FlushTimer;
  private flushing: Promise<void> | undefined;

  private trimmedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: Pick<ConsoleQueries, 'addUsage' | 'trimUsage'>,
    private readonly logger: Logger,
    intervalMs: number,
    private readonly retention: { readonly ms: number; readonly clock: Clock },
  ) {
    this.timer = new FlushTimer(intervalMs, () => void this.flush());
  }

  /** Counts one accepted request of `keyId` at `now`; `counter` is what the caller kept from the last call. */
  count(counter: UsageCounter | undefined, keyId: string, now: number, inGrace: boolean): UsageCounter {
    const hour = now - (now % HOUR_MS);
    let c = counter;
    if (c === undefined || c.generation !== this.generation || c.hour !== hour) {
      c = { keyId, hour, generation: this.generation, valid: 0, grace: 0 };
      this.pending.push(c);
      this.timer.schedule();
    }
    if (inGrace) c.grace++;
    else c.valid++;
    return c;
  }

  /** Writes the counts collected so far. Never rejects. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    if (this.pending.length === 0) return Promise.resolve();
    // A new generation: requests from now on count into new counters, not these.
    this.generation++;
    const buckets = merge(this.pending);
    this.pending = [];
    if (buckets.length === 0) return Promise.resolve();
    this.flushing = this.store
      .addUsage(buckets)
      .catch((error: unknown) => {
        this.logger.warn({ ...errorFields(error), buckets: buckets.length }, 'keyward: could not record usage counts; will retry');
        for (const b of buckets) this.pending.push({ ...b, generation: -1 });
        this.timer.schedule();
      })
      .then(() => this.trim())
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  /** Drops buckets older than the retention, at most once an hour (any process may; it is idempotent). */
  private async trim(): Promise<void> {
    const now = this.retention.clock.now();
    if (now - this.trimmedAt < HOUR_MS) return;
    this.trimmedAt = now;
    try {
      await this.store.trimUsage(now - this.retention.ms);
    } catch (error) {
      this.logger.warn({ ...errorFields(error) }, 'keyward: could not trim old usage counts');
    }
  }

  async close(): Promise<void> {
    this.timer.stop();
    await this.flush();
  }
}

/** One bucket per key and hour (an entry evicted and loaded again starts a second counter). */
function merge(counters: readonly UsageCounter[]): UsageBucket[] {
  const byBucket = new Map<string, { keyId: string; hour: number; valid: number; grace: number }>();
  for (const c of counters) {
    if (c.valid === 0 && c.grace === 0) continue;
    const id = `${c.keyId}\u0000${c.hour}`;
    const b = byBucket.get(id);
    if (b) {
      b.valid += c.valid;
      b.grace += c.grace;
    } else byBucket.set(id, { keyId: c.keyId, hour: c.hour, valid: c.valid, grace: c.grace });
  }
  return [...byBucket.values()];
}
