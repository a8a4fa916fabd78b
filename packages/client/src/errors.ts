/** Stable codes of every `KeyClientError`. */
export const KeyClientErrorCodes = {
  /** A bad option given to `createKeyClient` or a store. */
  INVALID_OPTION: 'invalid_option',
  /** The store holds no key (or an unreadable one). */
  NO_KEY: 'no_key',
  /** The key's grace ended and no successor could be obtained. */
  KEY_EXPIRED: 'key_expired',
  /** The rotation endpoint refused or failed. */
  ROTATION_FAILED: 'rotation_failed',
  /** The store is read-only (an env store): the key cannot rotate here. */
  READ_ONLY_STORE: 'read_only_store',
} as const;

export type KeyClientErrorCode = (typeof KeyClientErrorCodes)[keyof typeof KeyClientErrorCodes];

/** The one error class of `@keyward/client`. Its message never holds a key, only a fingerprint. */
export class KeyClientError extends Error {
  readonly code: KeyClientErrorCode;
  /** HTTP status of the response that caused it, when there was one. */
  readonly status: number | undefined;

  constructor(code: KeyClientErrorCode, message: string, status?: number) {
    super(`@keyward/client: ${message}`);
    this.name = 'KeyClientError';
    this.code = code;
    this.status = status;
  }
}

export function invalidOption(name: string, value: unknown, expected: string): KeyClientError {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return new KeyClientError(KeyClientErrorCodes.INVALID_OPTION, `option "${name}" must be ${expected}; got ${shown}.`);
}
