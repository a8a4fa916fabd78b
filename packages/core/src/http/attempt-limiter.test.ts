import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { MemoryAttemptLimiter } from './attempt-limiter.js';

describe('MemoryAttemptLimiter', () => {
  it('blocks a source after max failures until its window ends', () => {
    const clock = new ManualClock(1_000_000);
    const limiter = new MemoryAttemptLimiter({ max: 3, window: '1m', clock });
    expect(limiter.hit('a')).toBe(0);
    expect(limiter.hit('a')).toBe(0);
    expect(limiter.check('a')).toBe(0);
    expect(limiter.hit('a')).toBe(60);
    expect(limiter.check('a')).toBe(60);
    expect(limiter.check('b')).toBe(0);
    clock.advance(30_500);
    expect(limiter.check('a')).toBe(30);
    clock.advance(29_500);
    expect(limiter.check('a')).toBe(0);
    expect(limiter.hit('a')).toBe(0); // a new window
  });

  it('is quiet while it counts nobody, so the hot path can skip it', () => {
    const limiter = new MemoryAttemptLimiter({ max: 2 });
    expect(limiter.quiet()).toBe(true);
    limiter.hit('10.0.0.1');
    expect(limiter.quiet()).toBe(false);
    limiter.reset('10.0.0.1');
    expect(limiter.quiet()).toBe(true);
  });

  it('forgets a source on reset, and bounds the sources it remembers', () => {
    const limiter = new MemoryAttemptLimiter({ max: 1, maxSources: 2 });
    limiter.hit('a');
    expect(limiter.check('a')).toBeGreaterThan(0);
    limiter.reset('a');
    expect(limiter.check('a')).toBe(0);
    limiter.hit('x');
    limiter.hit('y');
    limiter.hit('z');
    expect(limiter.check('x')).toBe(0); // evicted
    expect(limiter.check('z')).toBeGreaterThan(0);
  });

  it('validates its options', () => {
    expect(() => new MemoryAttemptLimiter({ max: 0 })).toThrow(/limiter\.max/);
    expect(() => new MemoryAttemptLimiter({ window: '10ms' })).toThrow(/limiter\.window/);
    expect(() => new MemoryAttemptLimiter({ window: 'soon' })).toThrow(/limiter\.window/);
    expect(() => new MemoryAttemptLimiter({ maxSources: 1.5 })).toThrow(/limiter\.maxSources/);
  });
});
