import { ErrorCodes } from './error-codes.js';
import { describeValue, KeywardError } from './errors.js';

function bad(what: string, value: unknown, expected: string): KeywardError {
  return new KeywardError(ErrorCodes.INVALID_ARGUMENT, `${what} ${expected}; got ${describeValue(value)}`, { argument: what });
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A client id: 1–200 printable characters. */
export function checkClientId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200 || CONTROL.test(value)) {
    throw bad('clientId', value, 'must be a non-empty string of at most 200 printable characters');
  }
  return value;
}

const SCOPE = /^[\x21-\x7e]{1,100}$/;

/** Scopes: distinct printable tokens without spaces (they travel in `WWW-Authenticate scope="…"`). */
export function checkScopes(value: unknown): readonly string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > 100 || !value.every((s) => typeof s === 'string' && SCOPE.test(s) && !s.includes('"'))) {
    throw bad('scopes', value, 'must be an array of at most 100 tokens without spaces or quotes');
  }
  return [...new Set(value as string[])];
}

export function checkMetadata(value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('metadata', value, 'must be a plain object');
  const json = JSON.stringify(value);
  if (json.length > 16_384) throw bad('metadata', value, 'must serialise to at most 16 KiB of JSON');
  return JSON.parse(json) as Record<string, unknown>;
}

/** Free text (reason, actor): at most 500 printable characters. */
export function checkText(value: unknown, what: string, required = false): string | null {
  if (value === undefined || value === null) {
    if (required) throw bad(what, value, 'is required');
    return null;
  }
  if (typeof value !== 'string' || (required && value.trim() === '') || value.length > 500 || CONTROL.test(value)) {
    throw bad(what, value, 'must be a string of at most 500 printable characters');
  }
  return value;
}
