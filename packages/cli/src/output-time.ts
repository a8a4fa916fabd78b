import { isValidTime } from '@keyward/core';

/**
 * Times for people: ISO 8601 in UTC to the second (`2026-12-03T16:27:43Z`), `none`
 * when there is no time, and `invalid (…)` for a stored value no date can hold (a
 * row written before durations were capped, or edited by hand): shown, never a crash.
 */
export function when(ms: number | null | undefined, none = '-'): string {
  if (ms === null || ms === undefined) return none;
  if (!isValidTime(ms)) return `invalid (${ms})`;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Times for `--json`: full ISO 8601, `null` for none, `invalid (…)` for a value no date can hold. */
export function iso(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  return isValidTime(ms) ? new Date(ms).toISOString() : `invalid (${ms})`;
}
