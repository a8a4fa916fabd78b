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

/** A duration as milliseconds (a non-negative integer) or a string like `48h`, `30d`, `15m`, `500ms`. */
export type Duration = number | string;

/**
 * Parses a duration into milliseconds. `name` is the option (or flag) being read, so
 * the error says which input was wrong: `option "grace" must be a duration like 48h,
 * 30d, 15m or milliseconds; got "48x"`.
 */
export function parseDuration(value: unknown, name: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0 && Number.isInteger(value)) return value;
  } else if (typeof value === 'string') {
    const match = DURATION.exec(value.trim());
    if (match) {
      const ms = Number(match[1]) * (UNIT_MS[match[2] as string] as number);
      if (Number.isFinite(ms) && ms <= Number.MAX_SAFE_INTEGER) return Math.round(ms);
    }
  }
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
