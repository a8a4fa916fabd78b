import { ErrorCodes, formatDuration, isKeywardError, type KeywardError } from '@keyward/core';

/** Exit codes: 0 success, 1 an operation that failed, 2 bad usage. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Bad input from the command line: a wrong flag value, an ambiguous name. Exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** An operation that could not be done (unknown client, database down). Exit 1. */
export class OperationError extends Error {
  override readonly name = 'OperationError';
}

const USAGE_CODES: readonly string[] = [
  ErrorCodes.INVALID_OPTION,
  ErrorCodes.INVALID_DURATION,
  ErrorCodes.INVALID_ARGUMENT,
  ErrorCodes.AMBIGUOUS_KEY,
];

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT_USAGE;
  if (isKeywardError(error) && USAGE_CODES.includes(error.code)) return EXIT_USAGE;
  return EXIT_FAILED;
}

/** One line for stderr: the message, what to do about it, and the code when it is a keyward error. Never a stack, never a key. */
export function describeError(error: unknown): string {
  if (isKeywardError(error)) return `${cliMessage(error)} (${error.code})`;
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The core's message in the CLI's words: flags instead of option names, and the way out. */
function cliMessage(error: KeywardError): string {
  const details = (error.details ?? {}) as Record<string, unknown>;
  switch (error.code) {
    case ErrorCodes.ROTATION_IN_PROGRESS:
      return `${error.message}; cancel it with: keyward abort ${String(details.clientId)} (the old key stays active), or let its grace end and run keyward tick`;
    case ErrorCodes.AMBIGUOUS_KEY: {
      const fingerprints = Array.isArray(details.fingerprints) ? ` (${details.fingerprints.join(', ')})` : '';
      return `${error.message.replace(/; say which one.*$/, '')}${fingerprints}; say which one with --key <fingerprint>`;
    }
    case ErrorCodes.INVALID_ARGUMENT:
      if (details.argument === 'grace' && typeof details.graceMs === 'number' && typeof details.lifetimeMs === 'number') {
        return (
          `--grace ${formatDuration(details.graceMs)} must end before the new key expires (it lives ${formatDuration(details.lifetimeMs)}): ` +
          'the client would be left with no valid key; use a shorter --grace or a longer --ttl'
        );
      }
      return error.message;
    default:
      return error.message;
  }
}
