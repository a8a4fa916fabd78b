/**
 * The logger shape keyward writes to: a subset of pino's API, called in pino's
 * order `(object, message)`. Pass a pino logger (or a child of one); the default
 * writes nothing. keyward never passes a plaintext key to it, only fingerprints.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const noop = () => {};

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Serialises an error for a log line without its stack's local variables or any key material. */
export function errorFields(error: unknown): { err: { name: string; message: string; code?: unknown } } {
  if (error instanceof Error) {
    return { err: { name: error.name, message: error.message, code: (error as { code?: unknown }).code } };
  }
  return { err: { name: 'NonError', message: String(error) } };
}
