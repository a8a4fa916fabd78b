import { errorFields, type Logger } from './logger.js';
import type { KeyStatus } from './types.js';

/** Request facts an adapter passes to `verify` so alerts can say who used an old key. */
export interface VerifyContext {
  readonly method?: string;
  readonly path?: string;
  readonly ip?: string;
}

interface KeyFacts {
  readonly at: number;
  readonly clientId: string;
  readonly keyId: string;
  readonly fingerprint: string;
}

export interface KeywardEvents {
  'key.issued': KeyFacts & { scopes: readonly string[]; expiresAt: number | null; actor: string | null };
  'key.rotated': KeyFacts & {
    rotationId: string;
    oldKeyId: string;
    oldFingerprint: string;
    graceUntil: number;
    actor: string | null;
    reason: string | null;
  };
  'key.finalized': KeyFacts & { rotationId: string; retiredKeyId: string; retiredFingerprint: string; actor: string | null };
  'key.revoked': KeyFacts & { reason: string; actor: string | null; previousStatus: KeyStatus; rotationId: string | null };
  'key.purged': KeyFacts & { status: KeyStatus };
  /**
   * A key of this deployment was reported leaked (secret scanning, an operator, `reportLeak`).
   * `outcome`: `revoked`, `rotated` (successor delivered, leaked key revoked) or
   * `already_retired` (reported again). `source`: where it was found.
   */
  'key.leaked': KeyFacts & { source: string; policy: 'revoke' | 'rotate'; outcome: 'revoked' | 'rotated' | 'already_retired' };
  /** A mistaken revoke was undone within the unrevoke window: the key is accepted again. */
  'key.unrevoked': KeyFacts & { reason: string; actor: string | null; revokedAt: number };
  /** A valid request made with the old key of a rotation, before its grace ends. */
  'key.used_in_grace': KeyFacts & { graceUntil: number; context: VerifyContext | undefined };
  /** A well-formed key was refused. Alert on `inactive` (old key used) and `revoked` (security). */
  'key.rejected': {
    at: number;
    reason: 'unknown' | 'expired' | 'inactive' | 'revoked';
    fingerprint: string;
    clientId: string | null;
    keyId: string | null;
    context: VerifyContext | undefined;
  };
  /** The new key of a `started` rotation reached its client through a secret sink. */
  'rotation.delivered': KeyFacts & { rotationId: string; actor: string | null; sink: string | null };
  /**
   * The new key of an open rotation was used for the first time, in some process: the
   * consumer has switched. `graceUntil` is the old key's deadline from now on (earlier
   * than before with `graceFrom: 'first-use'`).
   */
  'rotation.switched': KeyFacts & {
    rotationId: string;
    oldKeyId: string;
    oldFingerprint: string;
    firstUsedAt: number;
    graceUntil: number;
    graceFrom: 'rotation' | 'first-use';
  };
  /**
   * The old key of a switched rotation was used after the new key's first use: some
   * replica of the consumer did not switch. Raised once per rotation per process;
   * `uses` counts this process's uses so far.
   */
  'key.used_after_switch': KeyFacts & { rotationId: string; firstUsedAt: number; graceUntil: number; context: VerifyContext | undefined };
  'rotation.aborted': { at: number; clientId: string; rotationId: string; reason: string | null; actor: string | null };
  'rotation.failed': { at: number; clientId: string; rotationId: string; error: string };
  /**
   * A key is near expiry. `notice`: the lead time it came within (e.g. `3d`), sent once per
   * key and lead time by the scheduler's expiry notices; absent for the scheduler's
   * reminders about a key it could not rotate.
   */
  'key.expiring': KeyFacts & { expiresAt: number; daysLeft: number; notice?: string };
  /**
   * A change was committed to the store, but the shared cache or the bus could not be
   * told (Redis down, frozen or unreachable from this process). The change stands:
   * other processes learn it from the store's change log within about a second.
   */
  'change.not_shared': { at: number; fingerprints: readonly string[]; cache: boolean; bus: boolean; error: string };
  'key.orphaned': { at: number; clientId: string; keyId: string | null; fingerprint: string | null; problem: string };
}

export type KeywardEventName = keyof KeywardEvents;
export type KeywardListener<E extends KeywardEventName> = (event: KeywardEvents[E]) => unknown;

/**
 * A typed event emitter. A listener that throws (or returns a rejected promise) is
 * caught and logged: an alerting bug never fails a request or an operation.
 */
export class KeywardEmitter {
  private readonly listeners = new Map<KeywardEventName, Set<KeywardListener<never>>>();

  constructor(private readonly logger: Logger) {}

  on<E extends KeywardEventName>(name: E, listener: KeywardListener<E>): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as KeywardListener<never>);
    return () => this.off(name, listener);
  }

  off<E extends KeywardEventName>(name: E, listener: KeywardListener<E>): void {
    this.listeners.get(name)?.delete(listener as KeywardListener<never>);
  }

  /** Cheap check so the hot path builds an event object only when someone listens. */
  has(name: KeywardEventName): boolean {
    const set = this.listeners.get(name);
    return set !== undefined && set.size > 0;
  }

  emit<E extends KeywardEventName>(name: E, event: KeywardEvents[E]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        const result = (listener as KeywardListener<E>)(event);
        if (result instanceof Promise) result.catch((error: unknown) => this.failed(name, error));
      } catch (error) {
        this.failed(name, error);
      }
    }
  }

  private failed(name: string, error: unknown): void {
    this.logger.error({ event: name, ...errorFields(error) }, 'keyward event listener failed');
  }
}
