import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { MemoryAttemptLimiter } from './attempt-limiter.js';

describe('MemoryAttemptLimiter', () => {
  it('lets a source reserve max attempts per window, then refuses it until the window ends', () => {
    const clock = new ManualClock(1_000_000);
    const limiter = new MemoryAttemptLimiter({ max: 3, window: '1m', clock });
    expect(limiter.hit('a')).toBe(0);
    expect(limiter.hit('a')).toBe(0);
    expect(limiter.check('a')).toBe(0);
    expect(limiter.hit('a')).toBe(0); // the third of max 3: within the budget
    expect(limiter.check('a')).toBe(60); // the next would not be
    expect(limiter.hit('a')).toBe(60); // refused
    expect(limiter.check('b')).toBe(0);
    clock.advance(30_500);
    expect(limiter.check('a')).toBe(30);
    clock.advance(29_500);
    expect(limiter.check('a')).toBe(0);
    expect(limiter.hit('a')).toBe(0); // a new window
  });

  it('is quiet while it counts nobody, also after every reservation was given back', () => {
    const limiter = new MemoryAttemptLimiter({ max: 2 });
    expect(limiter.quiet()).toBe(true);
    limiter.hit('10.0.0.1');
    expect(limiter.quiet()).toBe(false);
    limiter.reset('10.0.0.1');
    expect(limiter.quiet()).toBe(true);
    limiter.hit('10.0.0.1');
    limiter.undo('10.0.0.1');
    expect(limiter.quiet()).toBe(true);
  });

  it('gives a reservation back with undo, never below zero', () => {
    const limiter = new MemoryAttemptLimiter({ max: 2 });
    limiter.undo('a'); // nothing counted: nothing happens
    limiter.hit('a');
    limiter.hit('a');
    expect(limiter.check('a')).toBeGreaterThan(0);
    limiter.undo('a');
    expect(limiter.check('a')).toBe(0);
    expect(limiter.hit('a')).toBe(0);
    expect(limiter.hit('a')).toBeGreaterThan(0);
    for (let i = 0; i < 5; i++) limiter.undo('a');
    expect(limiter.hit('a')).toBe(0);
    expect(limiter.hit('a')).toBe(0);
    expect(limiter.hit('a')).toBeGreaterThan(0);
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
