import { ErrorCodes } from './error-codes.js';
import { describeValue, KeywardError } from './errors.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;

/**
 * The longest duration keyward accepts: 36500 days (about 100 years). A time is
 * always `now` plus a duration, and it must stay a date that JavaScript, SQLite,
 * PostgreSQL and ISO 8601 can all represent; 100 years leaves ample room for a key
 * that "never" expires (use `null` for that) without reaching year 275760, where
 * `new Date()` gives up.
 */
export const MAX_DURATION_MS = 36_500 * 86_400_000;

/** The latest (and, negated, earliest) instant a JavaScript `Date` can hold, in ms. */
const MAX_TIME_MS = 8.64e15;

/** A duration as milliseconds (a non-negative integer) or a string like `48h`, `30d`, `15m`, `500ms`. */
export type Duration = number | string;

/**
 * Parses a duration into milliseconds. `name` is the option (or flag) being read, so
 * the error says which input was wrong: `option "grace" must be a duration like 48h,
 * 30d, 15m or milliseconds; got "48x"`.
 */
export function parseDuration(value: unknown, name: string): number {
  let ms: number | undefined;
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0 && Number.isInteger(value)) ms = value;
  } else if (typeof value === 'string') {
    const match = DURATION.exec(value.trim());
    if (match) ms = Math.round(Number(match[1]) * (UNIT_MS[match[2] as string] as number));
  }
  if (ms !== undefined && Number.isFinite(ms) && ms > MAX_DURATION_MS) {
    throw new KeywardError(
      ErrorCodes.INVALID_DURATION,
      `option "${name}" must be at most ${formatDuration(MAX_DURATION_MS)} (about 100 years); got ${describeValue(value)}`,
      { option: name, maxMs: MAX_DURATION_MS },
    );
  }
  if (ms !== undefined && Number.isFinite(ms)) return ms;
  throw new KeywardError(
    ErrorCodes.INVALID_DURATION,
    `option "${name}" must be a duration like 48h, 30d, 15m or a number of milliseconds; got ${describeValue(value)}`,
    { option: name },
  );
}

/** Formats milliseconds in the largest whole unit (for messages and CLI output). */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit] as number;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * `now + ms` as a time, checked to be one a `Date` can hold: a clock or a duration
 * that would produce "Invalid time value" after the write fails here, before it.
 */
export function timeAfter(now: number, ms: number, name: string): number {
  const at = now + ms;
  if (!Number.isFinite(at) || Math.abs(at) > MAX_TIME_MS) {
    throw new KeywardError(
      ErrorCodes.INVALID_DURATION,
      `option "${name}" puts the time past what a date can hold; got ${ms} ms after ${now}`,
      {
        option: name,
      },
    );
  }
  return at;
}

/** Whether `ms` is a time a `Date` can hold (a row written before the limits, or edited by hand, may not be). */
export function isValidTime(ms: unknown): ms is number {
  return typeof ms === 'number' && Number.isFinite(ms) && Math.abs(ms) <= MAX_TIME_MS;
}
