/** What `RateLimiter.hit` decides for one occurrence. */
export type RateDecision = { readonly allow: true; readonly suppressed: number } | { readonly allow: false };

interface Slot {
  last: number;
  suppressed: number;
}

/**
 * At most one occurrence per `key` per `windowMs`; the ones in between are counted
 * and reported (`suppressed`) with the next one let through. Bounded: when more
 * than `maxKeys` keys are tracked, the stalest are forgotten.
 */
export class RateLimiter {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys = 100_000,
  ) {}

  hit(key: string, now: number): RateDecision {
    const slot = this.slots.get(key);
    if (slot !== undefined && now - slot.last < this.windowMs) {
      slot.suppressed += 1;
      return { allow: false };
    }
    const suppressed = slot?.suppressed ?? 0;
    this.slots.delete(key); // re-insert: Map order is then oldest-first for eviction
    this.slots.set(key, { last: now, suppressed: 0 });
    if (this.slots.size > this.maxKeys) this.evict(now);
    return { allow: true, suppressed };
  }

  get size(): number {
    return this.slots.size;
  }

  private evict(now: number): void {
    for (const [key, slot] of this.slots) {
      if (this.slots.size <= this.maxKeys * 0.9) break;
      if (now - slot.last >= this.windowMs || this.slots.size > this.maxKeys) this.slots.delete(key);
    }
  }
}
