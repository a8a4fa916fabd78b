export { createKeywardFromEnv, type KeywardFromEnvOptions } from './create-keyward-from-env.js';
export { type DatabaseTarget, DEFAULT_DATABASE, parseDatabaseUrl, parseRedisUrl } from './database-url.js';
export { closeDefaultKeyward, defaultAttemptLimiter, defaultKeyward } from './default-keyward.js';
export { attemptLimiterFromEnv } from './env-attempt-limiter.js';
export { maskUrl } from './mask-url.js';
