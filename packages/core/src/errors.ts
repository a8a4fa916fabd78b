import { type ErrorCode, ErrorCodes } from './error-codes.js';

/**
 * The one error class keyward throws. `code` is stable (see error-codes.ts); the
 * message never contains a plaintext key. `details` carries safe, structured facts
 * (ids, fingerprints, states) for callers that want to branch on them.
 */
export class KeywardError extends Error {
  override readonly name = 'KeywardError';
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}

/** Thrown when an option has a bad value: names the package, the option and the value. */
export function invalidOption(option: string, value: unknown, expected: string): KeywardError {
  return new KeywardError(ErrorCodes.INVALID_OPTION, `@keyward/core: option "${option}" ${expected}; got ${describeValue(value)}`, {
    option,
  });
}

export function conflict(message: string, details: Record<string, unknown> = {}): KeywardError {
  return new KeywardError(ErrorCodes.CONFLICT, message, details);
}

export function isKeywardError(error: unknown, code?: ErrorCode): error is KeywardError {
  return error instanceof KeywardError && (code === undefined || error.code === code);
}

/** Renders a value for an error message without ever dumping a long string (which might be a key). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return value.length > 40 ? `a ${value.length}-character string` : JSON.stringify(value);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `a ${typeof value}`;
}
