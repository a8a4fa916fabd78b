import type { VerifyContext } from '../events.js';
import type { Keyward } from '../keyward.js';
import { errorFields } from '../logger.js';
import type { AuditEntry } from '../types.js';
import { RateLimiter } from './rate-limiter.js';

/** One use of a key that should not have been used (or only for a little longer). */
export interface KeyUse {
  readonly type: 'key.used_in_grace' | 'key.rejected';
  readonly at: number;
  readonly clientId: string | null;
  readonly keyId: string;
  readonly fingerprint: string;
  /** `in_grace`, `inactive` or `revoked`. */
  readonly reason: string;
  readonly context: VerifyContext | undefined;
}

/**
 * Writes old-key and revoked-key uses to the durable audit table off the request
 * path: at most one row per key and kind per `windowMs` (carrying how many uses it
 * stands for), collected in memory and committed in one batch every `flushMs`. A
 * flood of requests with an old key is a handful of rows, never one write each.
 */
export class UsageAuditWriter {
  private readonly limiter: RateLimiter;
  private buffer: AuditEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly keyward: Keyward,
    windowMs: number,
    private readonly flushMs: number,
    private readonly maxBuffer = 10_000,
  ) {
    this.limiter = new RateLimiter(windowMs);
  }

  record(use: KeyUse): void {
    const decision = this.limiter.hit(`${use.type}:${use.reason}:${use.keyId}`, use.at);
    if (!decision.allow || this.buffer.length >= this.maxBuffer) return;
    const { method, path, ip } = use.context ?? {};
    this.buffer.push({
      at: use.at,
      type: use.type,
      clientId: use.clientId,
      keyId: use.keyId,
      fingerprint: use.fingerprint,
      rotationId: null,
      actor: null,
      reason: use.reason,
      data: { uses: 1 + decision.suppressed, ...(method ? { method } : {}), ...(path ? { path } : {}), ...(ip ? { ip } : {}) },
    });
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, this.flushMs);
      this.timer.unref();
    }
  }

  /** Commits what is buffered now (one transaction). Failures are logged and the rows kept for the next try. */
  async flush(): Promise<void> {
    await this.flushing;
    if (this.buffer.length === 0) return;
    const audit = this.buffer;
    this.buffer = [];
    this.flushing = this.keyward.store
      .commit({ at: this.keyward.config.clock.now(), audit })
      .catch((error: unknown) => {
        this.keyward.config.logger.error(
          { rows: audit.length, ...errorFields(error) },
          'keyward: could not write key-use audit rows; will retry',
        );
        this.buffer = [...audit, ...this.buffer].slice(0, this.maxBuffer);
      })
      .finally(() => {
        this.flushing = undefined;
      });
    await this.flushing;
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
