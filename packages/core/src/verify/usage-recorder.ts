import type { KeyStore } from '../key-store.js';
import { errorFields, type Logger } from '../logger.js';
import { FlushTimer } from './flush-timer.js';

/**
 * Collects `last_used_at` off the request path and writes it in batches: one
 * `touchLastUsed` call per flush interval, never one write per request. A failed
 * flush keeps its entries for the next one.
 */
export class UsageRecorder {
  private pending = new Map<string, number>();
  private readonly timer: FlushTimer;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly store: KeyStore,
    private readonly logger: Logger,
    intervalMs: number,
  ) {
    this.timer = new FlushTimer(intervalMs, () => void this.flush());
  }

  record(keyId: string, at: number): void {
    this.pending.set(keyId, at);
    this.timer.schedule();
  }

  /** Writes what has been collected. Safe to call at any time; never rejects. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing.then(() => this.flush());
    if (this.pending.size === 0) return Promise.resolve();
    const batch = this.pending;
    this.pending = new Map();
    const uses = [...batch].map(([id, at]) => ({ id, at }));
    this.flushing = this.store
      .touchLastUsed(uses)
      .catch((error: unknown) => {
        this.logger.warn({ ...errorFields(error), keys: uses.length }, 'keyward: could not record last use; will retry');
        for (const [id, at] of batch) if ((this.pending.get(id) ?? -1) < at) this.pending.set(id, at);
        this.timer.schedule();
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  async close(): Promise<void> {
    this.timer.stop();
    await this.flush();
  }
}
