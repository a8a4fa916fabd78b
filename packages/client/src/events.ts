/** Event names, as constants. */
export const KeyClientEvents = {
  ROTATED: 'rotated',
  ROTATION_FAILED: 'rotation.failed',
  KEY_REJECTED: 'key.rejected',
} as const;

/** The payload of each event. Keys never appear, only fingerprints. */
export interface KeyClientEventMap {
  /** A new key was saved and is now in use (by this process, or adopted from the store). */
  rotated: {
    readonly from: string;
    readonly to: string;
    readonly expiresAt: string | null;
    /** `rotated`: this process called the endpoint; `adopted`: another writer of the store did. */
    readonly how: 'rotated' | 'adopted';
  };
  /** A rotation attempt failed; the old key stays in use. */
  'rotation.failed': {
    readonly fingerprint: string;
    readonly code: string;
    readonly message: string;
    readonly status: number | undefined;
    /** When the next automatic attempt may run (epoch ms). */
    readonly retryAt: number;
  };
  /** The server refused the key (401/403). */
  'key.rejected': {
    readonly fingerprint: string;
    readonly status: number;
    readonly code: string | undefined;
  };
}

export type KeyClientEventName = keyof KeyClientEventMap;
export type KeyClientListener<E extends KeyClientEventName> = (payload: KeyClientEventMap[E]) => void;

/** A tiny typed emitter: a listener that throws is caught and reported to `onListenerError`. */
export class Emitter {
  private readonly listeners = new Map<KeyClientEventName, Set<(payload: never) => void>>();

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  on<E extends KeyClientEventName>(event: E, listener: KeyClientListener<E>): () => void {
    const set = this.listeners.get(event) ?? new Set();
    this.listeners.set(event, set);
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }

  emit<E extends KeyClientEventName>(event: E, payload: KeyClientEventMap[E]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as KeyClientListener<E>)(payload);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}
