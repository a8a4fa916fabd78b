/** A held scheduler lock. */
export interface SchedulerLockHandle {
  /** Gives the lock up. Errors are logged by the scheduler, never thrown out of a pass. */
  release(): Promise<void>;
  /** Optional: pushes the expiry to `ttlMs` from now; resolves `false` when the lock is no longer ours. */
  extend?(ttlMs: number): Promise<boolean>;
}

/**
 * Keeps several scheduler processes from running the same pass at the same time.
 * It is an optimisation only: correctness (each due rotation exactly once) comes
 * from the store's compare-and-set and the rotations' idempotency keys, so a lock
 * that expires early or offers no fencing cannot cause a second rotation.
 */
export interface SchedulerLock {
  /** Takes `name` for `ttlMs`, or resolves `null` when another process holds it. */
  acquire(name: string, ttlMs: number): Promise<SchedulerLockHandle | null>;
}

/** What `fromRedisLock` needs from `@keyward/redis`'s `RedisLock` (duck-typed: core does not depend on it). */
export interface RedisLockLike {
  acquire(name: string, ttl: number): Promise<{ release(): Promise<unknown>; extend?(ttl: number): Promise<boolean> } | null>;
}

/** Adapts a `RedisLock` (SET NX PX with a token, Lua release/extend) to a `SchedulerLock`. */
export function fromRedisLock(lock: RedisLockLike): SchedulerLock {
  return {
    async acquire(name, ttlMs) {
      const handle = await lock.acquire(name, ttlMs);
      if (handle === null) return null;
      const held: SchedulerLockHandle = {
        release: async () => {
          await handle.release();
        },
      };
      if (typeof handle.extend === 'function') {
        const extend = handle.extend.bind(handle);
        held.extend = (next) => extend(next);
      }
      return held;
    },
  };
}
