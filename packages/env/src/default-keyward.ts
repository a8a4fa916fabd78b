import type { AttemptLimiter, Keyward } from '@keyward/core';
import { createKeywardFromEnv } from './create-keyward-from-env.js';
import { attemptLimiterFromEnv } from './env-attempt-limiter.js';

let keyward: Promise<Keyward> | undefined;
let limiter: (AttemptLimiter & { close?(): Promise<void> }) | undefined;

/**
 * The process-wide zero-config keyward (`createKeywardFromEnv()` from
 * `process.env`), created on the first call and shared by every later one. This is
 * what `apiKeyAuth()` uses when given no `keyward`. A failed start is not memoised.
 */
export function defaultKeyward(): Promise<Keyward> {
  if (keyward === undefined) {
    const attempt = createKeywardFromEnv();
    keyward = attempt;
    attempt.catch(() => {
      if (keyward === attempt) keyward = undefined;
    });
  }
  return keyward;
}

/** The attempt limiter that goes with `defaultKeyward()`: shared in Redis when `KEYWARD_REDIS_URL` is set, else in memory. */
export function defaultAttemptLimiter(): AttemptLimiter {
  limiter ??= attemptLimiterFromEnv();
  return limiter;
}

/** Closes the default keyward and limiter (connections, timers) and forgets them; the next call starts afresh. */
export async function closeDefaultKeyward(): Promise<void> {
  const current = keyward;
  const currentLimiter = limiter;
  keyward = undefined;
  limiter = undefined;
  if (current !== undefined) await (await current.catch(() => undefined))?.close();
  await currentLimiter?.close?.();
}
