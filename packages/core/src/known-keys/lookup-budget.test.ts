import { describe, expect, it } from 'vitest';
import { LookupBudget } from './lookup-budget.js';

function takeFor(budget: LookupBudget, from: number, ms: number, perMs: number): number {
  let allowed = 0;
  for (let t = from; t < from + ms; t++) for (let i = 0; i < perMs; i++) if (budget.take(t)) allowed++;
  return allowed;
}

describe('LookupBudget', () => {
  it('allows a burst of perSecond, then perSecond a second', () => {
    const budget = new LookupBudget(20, 0);
    let allowed = 0;
    for (let i = 0; i < 100; i++) if (budget.take(0)) allowed++;
    expect(allowed).toBe(20);
    expect(budget.take(10)).toBe(false);
    expect(budget.take(50)).toBe(true); // 50 ms at 20/s refills one
  });

  it('halves each dry second of misses under a flood, down to none', () => {
    const budget = new LookupBudget(20, 0);
    const perSecond = [0, 1, 2, 3, 4, 5, 6, 7].map((s) => takeFor(budget, s * 1000, 1000, 5));
    expect(perSecond[0]).toBeGreaterThanOrEqual(20);
    expect(perSecond[0]).toBeLessThanOrEqual(40);
    expect(perSecond[7]).toBe(0);
    expect(perSecond.reduce((a, b) => a + b, 0)).toBeLessThan(70);
    expect(budget.status().perSecond).toBe(0);
    expect(budget.status().refused).toBeGreaterThan(30_000);
  });

  it('goes back to the full rate when a lookup finds a key, or after a quiet second', () => {
    const budget = new LookupBudget(20, 0);
    for (let s = 0; s < 8; s++) takeFor(budget, s * 1000, 1000, 5);
    expect(budget.status().perSecond).toBe(0);
    budget.foundKey();
    expect(budget.status().perSecond).toBe(20);
    for (let s = 8; s < 16; s++) takeFor(budget, s * 1000, 1000, 5);
    expect(budget.status().perSecond).toBe(0);
    // A second with ruled-out keys but no refusal (one key in it): doubles back from 1.
    budget.take(16_000);
    budget.take(17_000);
    expect(budget.status().perSecond).toBe(1);
    budget.take(30_000); // nothing for 13 s
    expect(budget.status().perSecond).toBe(20);
  });

  it('with 0 a second, allows nothing', () => {
    const budget = new LookupBudget(0, 0);
    expect(budget.take(0)).toBe(false);
    expect(budget.take(10_000)).toBe(false);
    expect(budget.status()).toMatchObject({ spent: 0, refused: 2 });
  });
});
