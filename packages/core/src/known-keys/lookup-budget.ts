/** What the budget has done, for `KnownKeys.status()` and the Prometheus gauges. */
export interface LookupBudgetStatus {
  /** Lookups per second the budget allows now (falls to 0 under a flood, see `LookupBudget`). */
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
 * A token bucket of `perSecond` (also its burst). A second with more ruled-out keys
 * than `perSecond` in which no lookup found a key is a flood: it halves the rate
 * (20, 10, 5, 2, 1, 0), so a flood that goes on costs the store nothing after a few
 * seconds. A lookup that finds a key restores the full rate; a second with at most
 * `perSecond` ruled-out keys doubles it back (from 1 when it was 0), and a second
 * with none at all restores it. During a flood a key issued
 * elsewhere is accepted once the change log reaches this process (`changes.interval`),
 * not through the budget.
 */
export class LookupBudget {
  private tokens: number;
  private rate: number;
  private refilledAt: number;
  private windowStart: number;
  /** Ruled-out keys in the current one-second window. */
  private asked = 0;
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
    this.asked++;
    const elapsed = Math.max(0, now - this.refilledAt);
    this.tokens = Math.min(this.perSecond, this.tokens + (elapsed * this.rate) / 1000);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      this.spent++;
      return true;
    }
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

  /** Once a second: halve the rate after a flooded second, else double it back. */
  private adapt(now: number): void {
    if (now - this.windowStart < 1000) return;
    // More than a second since the window ended: a second with no take at all, not a flood.
    if (now - this.windowStart >= 2000) this.rate = this.perSecond;
    else if (this.asked > this.perSecond && !this.found) this.rate = Math.floor(this.rate / 2);
    else this.rate = Math.min(this.perSecond, Math.max(1, this.rate * 2));
    this.asked = 0;
    this.found = false;
    this.windowStart = now;
  }
}
