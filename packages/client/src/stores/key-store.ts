/** One key as the client holds it. */
export interface StoredKey {
  /** The plaintext key. */
  readonly key: string;
  /** Server fingerprint when known (from a rotation response), else a local one. */
  readonly fingerprint: string;
  /** ISO time the key expires, `null` for never or unknown. */
  readonly expiresAt: string | null;
}

/** A rotation asked for but not yet saved: survives a crash so a restart retries the same call. */
export interface PendingRotation {
  /** Fingerprint of the key being rotated. */
  readonly from: string;
  /** The `Idempotency-Key` sent (random, not a secret). */
  readonly idempotencyKey: string;
  /** ISO time it was first asked. */
  readonly startedAt: string;
}

/** Everything a store persists. */
export interface KeyState {
  readonly current: StoredKey;
  /** The key before `current`, kept until `current` was accepted once. */
  readonly previous: StoredKey | null;
  readonly pending: PendingRotation | null;
}

/** Releases a lock taken with `KeyStore.lock`. */
export type ReleaseLock = () => Promise<void>;

/**
 * Where the client keeps its key. `save` must be durable when it resolves: the
 * client uses a new key only after its `save` resolved.
 */
export interface KeyStore {
  /** `true` for stores that cannot save (the env store): the client warns and never rotates. */
  readonly readOnly: boolean;
  load(): Promise<KeyState | undefined>;
  save(state: KeyState): Promise<void>;
  /**
   * Optional cross-process lock around a rotation (the file store has one). Resolves
   * with a release function, or `undefined` when another holder has it.
   */
  lock?(): Promise<ReleaseLock | undefined>;
  /** Optional: calls `listener` when another writer changed the stored state. Returns a stop function. */
  watch?(listener: () => void): () => void;
}
