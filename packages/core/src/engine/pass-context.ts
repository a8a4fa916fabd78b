import { ErrorCodes } from '../error-codes.js';
import { isKeywardError } from '../errors.js';
import type { Keyward } from '../keyward.js';
import { errorFields } from '../logger.js';
import type { RateLimiter } from './rate-limiter.js';
import type { PassSummary, SchedulerEvents } from './scheduler-events.js';
import type { SchedulerConfig } from './scheduler-options.js';

/** What every step of a pass works with. */
export interface PassContext {
  readonly keyward: Keyward;
  readonly config: SchedulerConfig;
  readonly events: SchedulerEvents;
  /** Rate limit for `key.expiring` / `key.orphaned` notices (kept across passes). */
  readonly notices: RateLimiter;
  readonly summary: PassSummary;
  /** Set when a step could not run at all. */
  stepsFailed: number;
}

/**
 * A lost race with another scheduler process or an operator: someone else already
 * started, finalized or cancelled this rotation. Not a failure: the store's
 * compare-and-set did its job.
 */
export function lostRace(error: unknown): boolean {
  return (
    isKeywardError(error, ErrorCodes.CONFLICT) ||
    isKeywardError(error, ErrorCodes.ROTATION_IN_PROGRESS) ||
    isKeywardError(error, ErrorCodes.ILLEGAL_TRANSITION) ||
    isKeywardError(error, ErrorCodes.NOT_FOUND)
  );
}

/** Records one item's failure; the pass goes on. */
export function itemFailed(ctx: PassContext, step: string, facts: Record<string, unknown>, error: unknown): void {
  ctx.summary.failed += 1;
  ctx.config.logger.error({ step, ...facts, ...errorFields(error) }, `keyward: scheduler ${step} failed for one item; the pass goes on`);
}

/** Runs one step; if it throws (e.g. the store is down), records it and lets the next step run. */
export async function runStep(ctx: PassContext, step: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    ctx.stepsFailed += 1;
    ctx.summary.failed += 1;
    ctx.config.logger.error({ step, ...errorFields(error) }, `keyward: scheduler step ${step} failed`);
  }
}
