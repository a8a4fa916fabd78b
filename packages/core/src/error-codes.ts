/**
 * The one catalogue of stable error codes thrown by keyward. Codes never change
 * meaning once published; messages may be reworded. Documented in README.md.
 */
export const ErrorCodes = {
  /** An option passed to a constructor or factory has a bad value. */
  INVALID_OPTION: 'KEYWARD_INVALID_OPTION',
  /** A duration string or number could not be understood. */
  INVALID_DURATION: 'KEYWARD_INVALID_DURATION',
  /** An argument to an operation is malformed (empty client id, bad scopes, ...). */
  INVALID_ARGUMENT: 'KEYWARD_INVALID_ARGUMENT',
  /** A lifecycle transition that the state machine does not allow. */
  ILLEGAL_TRANSITION: 'KEYWARD_ILLEGAL_TRANSITION',
  /** A compare-and-set write lost to a concurrent writer, or a uniqueness rule was hit. */
  CONFLICT: 'KEYWARD_CONFLICT',
  /** A rotation for this client is already in progress. */
  ROTATION_IN_PROGRESS: 'KEYWARD_ROTATION_IN_PROGRESS',
  /** No such key, client key or rotation. */
  NOT_FOUND: 'KEYWARD_NOT_FOUND',
  /** The client has several active keys and the operation needs to know which one. */
  AMBIGUOUS_KEY: 'KEYWARD_AMBIGUOUS_KEY',
  /** The durable store or shared cache could not be reached. */
  UNAVAILABLE: 'KEYWARD_UNAVAILABLE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];
