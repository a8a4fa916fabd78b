import type { Clock } from '../clock.js';
import type { VerifyContext } from '../events.js';
import type { Keyward } from '../keyward.js';
import { errorFields, type Logger } from '../logger.js';
import type { AttemptGate } from '../verify/attempt-gate.js';
import { type AttemptLimiter, MemoryAttemptLimiter } from './attempt-limiter.js';

/**
 * Source key of the attempt limiter: the address the framework resolved (trusted-proxy
 * aware). Read only when the limiter is asked: resolving it costs a framework real
 * work (Express runs proxy-addr), and a key this process knows never asks.
 */
export function sourceOf(context: VerifyContext | undefined): string {
  return context?.ip || 'unknown';
}

const perKeyward = new WeakMap<Keyward, MemoryAttemptLimiter>();

/**
 * The limiter of every route built with default options for `keyward`
 * (`apiKeyAuth()`, the self-service rotation route, and the routes that come
 * later): one `MemoryAttemptLimiter` (10 guesses a minute per source, on the
 * keyward's clock) per keyward instance, so a source has one budget across them.
 */
export function keywardAttemptLimiter(keyward: Keyward): MemoryAttemptLimiter {
  let limiter = perKeyward.get(keyward);
  if (limiter === undefined) {
    limiter = new MemoryAttemptLimiter({ clock: keyward.config.clock });
    perKeyward.set(keyward, limiter);
  }
  return limiter;
}

interface Fallback {
  readonly limiter: MemoryAttemptLimiter;
  warnedAt: number;
}

const fallbacks = new WeakMap<AttemptLimiter, Fallback>();
const WARN_EVERY_MS = 10_000;

/** This process's stand-in for `limiter` while it fails, with the same budget (read from its `max` and `windowMs` when it has them). */
function fallbackOf(limiter: AttemptLimiter, clock: Clock): Fallback {
  let fallback = fallbacks.get(limiter);
  if (fallback === undefined) {
    const { max, windowMs } = limiter as { max?: unknown; windowMs?: unknown };
    fallback = {
      limiter: new MemoryAttemptLimiter({
        clock,
        ...(typeof max === 'number' && Number.isInteger(max) && max >= 1 ? { max } : {}),
        ...(typeof windowMs === 'number' && windowMs >= 1000 ? { window: windowMs } : {}),
      }),
      warnedAt: Number.NEGATIVE_INFINITY,
    };
    fallbacks.set(limiter, fallback);
  }
  return fallback;
}

/**
 * The `AttemptGate` an adapter hands the verifier: `limiter.hit` before a lookup,
 * `limiter.undo` when the key turned out known. A limiter that fails (Redis down)
 * must not take authentication down, nor let a flood of guesses through to the
 * store: while it fails, this process counts in a `MemoryAttemptLimiter` of the
 * same budget instead (so the budget holds per process), and says so in the log
 * (at most every 10 s).
 */
export class LimiterGate implements AttemptGate {
  constructor(
    readonly limiter: AttemptLimiter,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {}

  reserve(context: VerifyContext | undefined): number | Promise<number> {
    const source = sourceOf(context);
    try {
      const wait = this.limiter.hit(source);
      if (typeof wait === 'number') return wait;
      return Promise.resolve(wait).then(
        (w) => (typeof w === 'number' ? w : this.down(source, new TypeError(`hit() answered ${typeof w}`)).hit(source)),
        (error: unknown) => this.down(source, error).hit(source),
      );
    } catch (error) {
      return this.down(source, error).hit(source);
    }
  }

  release(context: VerifyContext | undefined): void {
    if (this.limiter.undo === undefined) return;
    const source = sourceOf(context);
    // Given back where it may have been counted: the limiter, or the stand-in while the limiter fails.
    const standIn = () => fallbacks.get(this.limiter)?.limiter.undo(source);
    try {
      const done = this.limiter.undo(source);
      if (done instanceof Promise) done.catch(standIn);
    } catch {
      standIn();
    }
  }

  private down(source: string, error: unknown): MemoryAttemptLimiter {
    const fallback = fallbackOf(this.limiter, this.clock);
    const now = this.clock.now();
    if (now - fallback.warnedAt >= WARN_EVERY_MS) {
      fallback.warnedAt = now;
      this.logger.warn(
        { ...errorFields(error), source },
        'keyward: attempt limiter failed; counting guesses in this process instead until it answers again',
      );
    }
    return fallback.limiter;
  }
}

/**
 * The gate of one route config: `limiterOf(keyward)` wrapped once per keyward
 * instance (a route has one), so a request costs a comparison, not an allocation.
 */
export function gateSource(limiterOf: ((keyward: Keyward) => AttemptLimiter) | undefined): (keyward: Keyward) => LimiterGate | undefined {
  if (limiterOf === undefined) return () => undefined;
  let last: Keyward | undefined;
  let gate: LimiterGate | undefined;
  return (keyward) => {
    if (keyward !== last || gate === undefined) {
      gate = new LimiterGate(limiterOf(keyward), keyward.config.logger, keyward.config.clock);
      last = keyward;
    }
    return gate;
  };
}
