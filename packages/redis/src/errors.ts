import { ErrorCodes, KeywardError } from '@keyward/core';

/** Renders a value for an error message without ever dumping a long string. */
function describe(value: unknown): string {
  if (typeof value === 'string') return value.length > 60 ? `a ${value.length}-character string` : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `a ${typeof value}`;
}

/** A bad constructor option: names the package, the option and the value. */
export function invalidOption(option: string, value: unknown, expected: string): KeywardError {
  return new KeywardError(ErrorCodes.INVALID_OPTION, `@keyward/redis: option "${option}" ${expected}; got ${describe(value)}`, { option });
}

/** A bad argument to a method (a lock name, a key hash...). */
export function invalidArgument(argument: string, value: unknown, expected: string): KeywardError {
  return new KeywardError(ErrorCodes.INVALID_ARGUMENT, `@keyward/redis: ${argument} ${expected}; got ${describe(value)}`, { argument });
}

/** Redis could not be reached, answered too slowly, or answered something unexpected. */
export function unavailable(message: string, cause?: unknown): KeywardError {
  return new KeywardError(ErrorCodes.UNAVAILABLE, `@keyward/redis: ${message}`, {}, cause === undefined ? undefined : { cause });
}

/** A URL safe to print: the password (and user) replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '' || parsed.username !== '') {
      parsed.username = parsed.username === '' ? '' : '***';
      parsed.password = parsed.password === '' ? '' : '***';
    }
    return parsed.toString();
  } catch {
    return `a ${url.length}-character string that is not a URL`;
  }
}
