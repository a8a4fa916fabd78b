import { ErrorCodes, isKeywardError } from '@keyward/core';

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

/** One line for stderr: the message, and the code when it is a keyward error. Never a stack, never a key. */
export function describeError(error: unknown): string {
  if (isKeywardError(error)) return `${error.message} (${error.code})`;
  if (error instanceof Error) return error.message;
  return String(error);
}
