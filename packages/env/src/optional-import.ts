import { ErrorCodes, KeywardError } from '@keyward/core';
import { PKG } from './errors.js';

function isMissing(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((error as Error).message).includes(name);
}

/**
 * Imports an optional peer (`@keyward/postgres`, `@keyward/redis`) on demand, with a
 * clear error when it is not installed. `load` is a literal `import('…')` so bundlers see it.
 */
export async function importOptional<T>(name: string, why: string, install: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (isMissing(error, name) || isMissing(error, install.split(' ').at(-1) ?? name)) {
      throw new KeywardError(
        ErrorCodes.INVALID_OPTION,
        `${PKG}: ${why} needs the optional package ${name}; install it with: npm install ${install}`,
        {
          option: name,
        },
      );
    }
    throw error;
  }
}
