import { LRUCache } from 'lru-cache';
import { type Clock, systemClock } from '../clock.js';
import { type Duration, parseDuration } from '../duration.js';
import { invalidOption } from '../errors.js';

/**
 * Counts guesses per source (the client address): attempts with keys that turned
 * out unknown, and malformed credentials. A source over its budget is told to wait
 * (429 + `Retry-After`) and nothing is looked up for it, which protects the store
 * from key guessing. Keys are verified first: a key that verifies, and a retired
 * key keyward knows (inactive, revoked, expired), never use the budget.
 * Implementations: `MemoryAttemptLimiter` (one process) and `RedisAttemptLimiter`
 * from `@keyward/redis` (shared by every process). Methods may answer synchronously
 * or with a promise.
 */
export interface AttemptLimiter {
  /** Seconds `source` must wait before its next attempt; `0` when it may try. Only looks: the adapters reserve with `hit`. */
  check(source: string): number | Promise<number>;
  /**
   * Counts (reserves) one attempt, atomically, before the lookup it pays for:
   * `0` when this attempt is within the budget (the first `max` of a window), else
   * the seconds to wait, and the attempt is refused.
   */
  hit(source: string): number | Promise<number>;
  /**
   * Optional: gives back one attempt counted by `hit` (the key turned out valid or
   * retired, or the lookup failed), never going below zero. Without it, such an
   * attempt stays counted.
   */
  undo?(source: string): void | Promise<void>;
  /** Forgets `source`'s attempts. */
  reset(source: string): void | Promise<void>;
  /**
   * Optional, synchronous: `true` when no source has an attempt counted, so `check`
   * would answer `0` for any source. A shared limiter (Redis) cannot know this
   * without I/O and leaves it out.
   */
  quiet?(): boolean;
}

export interface MemoryAttemptLimiterOptions {
  /** Guesses (unknown or malformed keys) one source may make per window; after that it waits for the window to end. Default `10`. */
  max?: number;
  /** Length of the counting window (fixed, starting at a source's first failure). Default `1m`. */
  window?: Duration;
  /** Most sources remembered (least recently failing are forgotten first). Default `10000`. */
  maxSources?: number;
  /** Source of time. Default: the system clock. */
  clock?: Clock;
}

interface Window {
  count: number;
  readonly endsAt: number;
}

function positiveInt(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalidOption(option, value, 'must be a positive integer');
  return value;
}

/** Fixed-window attempt counting in this process, bounded by an LRU. Synchronous: no promise per request. */
export class MemoryAttemptLimiter implements AttemptLimiter {
  readonly max: number;
  readonly windowMs: number;
  private readonly clock: Clock;
  private readonly windows: LRUCache<string, Window>;

  constructor(options: MemoryAttemptLimiterOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalidOption('limiter', options, 'must be an object');
    this.max = positiveInt(options.max, 'limiter.max', 10);
    this.windowMs = parseDuration(options.window ?? '1m', 'limiter.window');
    if (this.windowMs < 1000) throw invalidOption('limiter.window', options.window, 'must be at least 1s');
    const clock = options.clock ?? systemClock;
    if (typeof clock?.now !== 'function') throw invalidOption('limiter.clock', clock, 'must have a now() method');
    this.clock = clock;
    this.windows = new LRUCache({ max: positiveInt(options.maxSources, 'limiter.maxSources', 10_000) });
  }

  quiet(): boolean {
    return this.windows.size === 0;
  }

  check(source: string): number {
    const window = this.windows.peek(source);
    if (window === undefined || window.count < this.max) return 0;
    return this.wait(window, this.clock.now());
  }

  hit(source: string): number {
    const now = this.clock.now();
    let window = this.windows.get(source);
    if (window === undefined || now >= window.endsAt) {
      window = { count: 0, endsAt: now + this.windowMs };
      this.windows.set(source, window);
    }
    window.count++;
    return window.count <= this.max ? 0 : this.wait(window, now);
  }

  undo(source: string): void {
    const window = this.windows.peek(source);
    if (window === undefined) return;
    // Back to nothing counted: forgotten, so `quiet()` stays exact.
    if (--window.count <= 0) this.windows.delete(source);
  }

  reset(source: string): void {
    this.windows.delete(source);
  }

  private wait(window: Window, now: number): number {
    if (now >= window.endsAt) return 0;
    return Math.ceil((window.endsAt - now) / 1000);
  }
}

/** True when `value` has the three limiter methods. */
export function isAttemptLimiter(value: unknown): value is AttemptLimiter {
  return (
    typeof value === 'object' &&
    value !== null &&
    ['check', 'hit', 'reset'].every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  );
}
