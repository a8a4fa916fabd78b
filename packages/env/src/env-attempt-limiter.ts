import { type AttemptLimiter, MemoryAttemptLimiter } from '@keyward/core';
import { parseRedisUrl } from './database-url.js';
import { importOptional } from './optional-import.js';

type RedisLimiter = AttemptLimiter & { close(): Promise<void> };
type RedisLimiterClass = new (options: { url: string; namespace?: string }) => RedisLimiter;

/** An `AttemptLimiter` whose Redis implementation is imported on first use (the import is async, limiting is too). */
class LazyRedisAttemptLimiter implements AttemptLimiter {
  private inner: Promise<AttemptLimiter> | undefined;
  private created: RedisLimiter | undefined;

  constructor(
    private readonly url: string,
    private readonly namespace: string | undefined,
  ) {}

  check(source: string): Promise<number> {
    return this.limiter().then((l) => l.check(source));
  }

  hit(source: string): Promise<number> {
    return this.limiter().then((l) => l.hit(source));
  }

  async undo(source: string): Promise<void> {
    const limiter = await this.limiter();
    await limiter.undo?.(source);
  }

  async reset(source: string): Promise<void> {
    await (await this.limiter()).reset(source);
  }

  async close(): Promise<void> {
    await this.created?.close();
  }

  private limiter(): Promise<AttemptLimiter> {
    this.inner ??= importOptional('@keyward/redis', 'KEYWARD_REDIS_URL', '@keyward/redis ioredis', () => import('@keyward/redis')).then(
      (mod) => {
        const RedisAttemptLimiter = (mod as Record<string, unknown>).RedisAttemptLimiter as RedisLimiterClass | undefined;
        if (RedisAttemptLimiter === undefined) return new MemoryAttemptLimiter(); // an older @keyward/redis
        this.created = new RedisAttemptLimiter({ url: this.url, ...(this.namespace ? { namespace: this.namespace } : {}) });
        return this.created;
      },
      (error: unknown) => {
        this.inner = undefined;
        throw error;
      },
    );
    return this.inner;
  }
}

/**
 * The failed-attempt limiter for the environment: shared in Redis (`RedisAttemptLimiter`,
 * 10 guesses a minute per source, reserved atomically before each lookup) when
 * `KEYWARD_REDIS_URL` is set, else in memory.
 */
export function attemptLimiterFromEnv(env: NodeJS.ProcessEnv = process.env): AttemptLimiter & { close?(): Promise<void> } {
  const url = parseRedisUrl(env.KEYWARD_REDIS_URL);
  if (url === undefined) return new MemoryAttemptLimiter();
  const namespace = env.KEYWARD_REDIS_NAMESPACE === '' ? undefined : env.KEYWARD_REDIS_NAMESPACE;
  return new LazyRedisAttemptLimiter(url, namespace);
}
