import { ErrorCodes, KeywardError } from '@keyward/core';

export const PKG = '@keyward/env';

/** A bad environment variable or option: names the package, the variable and a safe rendering of the value. */
export function invalidEnv(name: string, shown: unknown, expected: string): KeywardError {
  return new KeywardError(
    ErrorCodes.INVALID_OPTION,
    `${PKG}: ${name} ${expected}; got ${typeof shown === 'string' ? shown : String(shown)}`,
    {
      option: name,
    },
  );
}

/** A URL with its password (and user) masked, or only its scheme when it does not parse. Never prints a secret. */
export function safeUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.password !== '') url.password = '***';
    return JSON.stringify(url.href);
  } catch {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1];
    return scheme === undefined ? `a ${value.length}-character string` : `a ${scheme}: URL that does not parse`;
  }
}
