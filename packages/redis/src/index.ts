export { keyNames } from './key-names.js';
export type { CommonRedisOptions, RedisClient, RedisConnectionOptions } from './options.js';
export { RedisAttemptLimiter, type RedisAttemptLimiterOptions } from './redis-attempt-limiter.js';
export { RedisInvalidationBus, type RedisInvalidationBusOptions } from './redis-invalidation-bus.js';
export { RedisKeyCache, type RedisKeyCacheOptions } from './redis-key-cache.js';
export { type LockHandle, type LockOutcome, RedisLock, type RedisLockOptions } from './redis-lock.js';
