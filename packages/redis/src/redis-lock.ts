import { randomBytes } from 'node:crypto';
import type { Duration } from '@keyward/core';
import { Connection, messageOf } from './connection.js';
import { invalidArgument, unavailable } from './errors.js';
import { keyNames } from './key-names.js';
import { LuaScript } from './lua-script.js';
import { type ConnectionConfig, durationOption, type RedisConnectionOptions, resolveConnectionOptions } from './options.js';

/** Deletes the lock only if it still holds our token. */
const releaseScript = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/** Moves the lock's expiry only if it still holds our token. */
const extendScript = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);

/** Options of `RedisLock`: a connection (client or url), namespace, timeout, logger. */
export type RedisLockOptions = RedisConnectionOptions;

/** A held lock. Only its holder (the random token) can release or extend it. */
export interface LockHandle {
  readonly name: string;
  /** 32 random hex characters from `crypto.randomBytes`. */
  readonly token: string;
  /** Releases the lock; `false` when it had expired (and may be held by someone else now). */
  release(): Promise<boolean>;
  /** Sets the lock's expiry to `ttl` from now; `false` when it is no longer ours. */
  extend(ttl: Duration): Promise<boolean>;
  /** Aborted when `withLock` fails to extend the lock: stop the work, someone else may start it. */
  readonly signal: AbortSignal;
}

export type LockOutcome<T> = { readonly acquired: true; readonly value: T } | { readonly acquired: false };

const MAX_TTL = 24 * 3_600_000;

/**
 * A single-instance Redis lock (SET NX PX with a random token; release and extend compare
 * the token in Lua). It only keeps several schedulers from doing the same work at the same
 * time. It gives NO fencing: a holder paused past the TTL may still act after another took
 * over, so correctness always comes from the store's compare-and-set on `version`.
 */
export class RedisLock {
  readonly namespace: string;
  private readonly config: ConnectionConfig;
  private readonly connection: Connection;

  constructor(options?: RedisLockOptions) {
    this.config = resolveConnectionOptions(options);
    this.namespace = this.config.namespace;
    this.connection = new Connection(this.config, 'lock');
  }

  /** Takes the lock `name` for `ttl` (ms or duration string), or resolves `null` when someone holds it. */
  async acquire(name: string, ttl: Duration): Promise<LockHandle | null> {
    const key = keyNames.lock(this.namespace, name);
    const ttlMs = lockTtl(ttl);
    const token = randomBytes(16).toString('hex');
    const reply = await this.connection.run('lock acquire', (client) => client.set(key, token, 'PX', ttlMs, 'NX'));
    if (reply === null) return null;
    if (reply !== 'OK') throw unavailable('lock acquire: unexpected reply to SET');
    const controller = new AbortController();
    return {
      name,
      token,
      signal: controller.signal,
      release: () => this.release(name, token),
      extend: (next: Duration) => this.extend(name, token, next),
    };
  }

  /** Releases `name` if `token` still holds it; resolves `false` otherwise (nothing is deleted). */
  async release(name: string, token: string): Promise<boolean> {
    const key = keyNames.lock(this.namespace, name);
    checkToken(token);
    return flag(await this.connection.run('lock release', (client) => releaseScript.run(client, [key], [token])), 'release');
  }

  /** Sets the expiry of `name` to `ttl` from now if `token` still holds it; resolves `false` otherwise. */
  async extend(name: string, token: string, ttl: Duration): Promise<boolean> {
    const key = keyNames.lock(this.namespace, name);
    checkToken(token);
    const ttlMs = lockTtl(ttl);
    return flag(await this.connection.run('lock extend', (client) => extendScript.run(client, [key], [token, ttlMs])), 'extend');
  }

  /**
   * Runs `fn` while holding `name`: resolves `{ acquired: false }` at once when the lock is
   * taken. The lock is extended every third of its TTL while `fn` runs; if an extension fails,
   * `handle.signal` is aborted. The lock is released when `fn` settles.
   */
  async withLock<T>(name: string, ttl: Duration, fn: (handle: LockHandle) => Promise<T> | T): Promise<LockOutcome<T>> {
    const ttlMs = lockTtl(ttl);
    const handle = await this.acquire(name, ttlMs);
    if (handle === null) return { acquired: false };
    const controller = new AbortController();
    const held: LockHandle = { ...handle, signal: controller.signal };
    const lost = (why: string) => {
      if (controller.signal.aborted) return;
      this.config.logger.warn({ lock: name, why }, '@keyward/redis: lock lost while its work was running');
      controller.abort(unavailable(`lock "${name}" was lost: ${why}`));
    };
    const keepAlive = setInterval(
      () => {
        handle.extend(ttlMs).then(
          (ok) => ok || lost('expired or taken over'),
          (error: unknown) => lost(messageOf(error)),
        );
      },
      Math.max(1, Math.floor(ttlMs / 3)),
    );
    keepAlive.unref();
    try {
      return { acquired: true, value: await fn(held) };
    } finally {
      clearInterval(keepAlive);
      await handle.release().catch((error: unknown) => {
        this.config.logger.warn(
          { lock: name, err: { message: messageOf(error) } },
          '@keyward/redis: lock release failed; it expires by its TTL',
        );
      });
    }
  }

  /** Closes the client if this lock created it (from `url`). */
  close(): Promise<void> {
    return this.connection.close();
  }
}

function lockTtl(ttl: unknown): number {
  if (ttl === undefined) throw invalidArgument('lock ttl', ttl, 'is required');
  return durationOption(ttl, 'ttl', 0, 1, MAX_TTL);
}

function checkToken(token: unknown): void {
  if (typeof token !== 'string' || token.length === 0 || token.length > 200)
    throw invalidArgument('lock token', token, 'must be a non-empty string');
}

function flag(reply: unknown, what: string): boolean {
  if (reply !== 0 && reply !== 1) throw unavailable(`lock ${what}: unexpected reply from the script`);
  return reply === 1;
}
