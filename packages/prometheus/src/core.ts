import { ErrorCodes, KeywardError } from '@keyward/core';

export type { Duration, KeyStatus, KeyStore, Keyward, Scheduler } from '@keyward/core';
export { KEY_STATUSES, parseDuration } from '@keyward/core';

function describeValue(value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `a ${value.length}-character string` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return Array.isArray(value) ? `an array of ${value.length}` : `a ${typeof value}`;
}

/** A bad option: names the package, the option and the value. */
export function invalidOptionFor(option: string, value: unknown, expected: string): KeywardError {
  return new KeywardError(ErrorCodes.INVALID_OPTION, `@keyward/prometheus: option "${option}" ${expected}; got ${describeValue(value)}`, {
    option,
  });
}
