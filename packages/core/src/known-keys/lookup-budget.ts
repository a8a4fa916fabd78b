/** What the budget has done, for `KnownKeys.status()` and the Prometheus gauges. */
export interface LookupBudgetStatus {
  /** Lookups per second the budget allows now (falls under a flood, see `LookupBudget`). */
  readonly perSecond: number;
  /** Ruled-out keys looked up anyway (the budget allowed it). */
  readonly spent: number;
  /** Ruled-out keys refused without a lookup (the budget was spent). */
  readonly refused: number;
}

/**
 * How many keys the filter rules out may still be checked against the store: a key
 * issued a moment ago in another process is in the store before this process's
 * filter hears of it from the change log, so it must not be refused for long.
 *
 * A token bucket of `perSecond` (also its burst). Under a flood the bucket is always
 * empty and its lookups all find nothing: each second that ran dry with no lookup
 * finding a key halves the rate, down to one per second, so a sustained flood costs
 * the store about one query a second per process. A lookup that finds a key, or a
 * second that did not run dry, restores the full rate (doubling back). A key issued
 * elsewhere during a flood is then accepted once the change log reaches this process
 * (`changes.interval`), not through the budget.
 */
export class LookupBudget {
  private tokens: number;
  private rate: number;
  private refilledAt: number;
  private windowStart: number;
  private ranDry = false;
  private found = false;
  private spent = 0;
  private refused = 0;

  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.tokens = perSecond;
    this.rate = perSecond;
    this.refilledAt = now;
    this.windowStart = now;
  }

  /** One lookup for a ruled-out key, if the budget allows it now. */
  take(now: number): boolean {
    if (this.perSecond === 0) {
      this.refused++;
      return false;
    }
    this.adapt(now);
    const elapsed = Math.max(0, now - this.refilledAt);
    this.tokens = Math.min(this.perSecond, this.tokens + (elapsed * this.rate) / 1000);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.spent++;
      return true;
    }
    this.ranDry = true;
    this.refused++;
    return false;
  }

  /** A budget lookup found a key (one issued elsewhere, not yet heard): the full rate again. */
  foundKey(): void {
    this.found = true;
    this.rate = this.perSecond;
  }

  status(): LookupBudgetStatus {
    return { perSecond: this.rate, spent: this.spent, refused: this.refused };
  }

  /** Once a second: halve the rate after a dry second of misses, else double it back. */
  private adapt(now: number): void {
    if (now - this.windowStart < 1000) return;
    // More than a second since the window ended: a second with no take at all, not a flood.
    if (now - this.windowStart >= 2000) this.rate = this.perSecond;
    else if (this.ranDry && !this.found) this.rate = Math.max(1, this.rate / 2);
    else this.rate = Math.min(this.perSecond, this.rate * 2);
    this.ranDry = false;
    this.found = false;
    this.windowStart = now;
  }
}
