import { errorFields, type Logger } from '../logger.js';

/** Counts of one scheduler pass. */
export interface PassSummary {
  /** Rotations this pass started (and handed to the sink). */
  rotated: number;
  /** New keys the sink accepted (rotation `started → delivered`). */
  delivered: number;
  /** Rotations completed because their grace ended. */
  finalized: number;
  /** Retired keys deleted after the retention period. */
  purged: number;
  /** `key.expiring` notices raised (no sink, or a rotation waiting to be retried). */
  expiring: number;
  /** Problems found by the orphan check (raised as `key.orphaned`, rate-limited). */
  orphans: number;
  /** Crashed rotations (left `started`) whose new key surely never reached the client: rolled back. */
  recovered: number;
  /** Crashed rotations whose new key the sink holds or the client used: marked delivered. */
  confirmed: number;
  /** Crashed rotations whose delivery cannot be confirmed: left open, both keys valid until grace ends. */
  unconfirmed: number;
  /** Things that went wrong (failed deliveries, failed operations, failed steps). */
  failed: number;
  /** `true` when another process held the lock and this pass did nothing. */
  skippedLocked: boolean;
}

/** A finished pass: its counts and timing. */
export interface PassReport extends PassSummary {
  /** Clock time (the keyward clock) when the pass began and ended. */
  readonly startedAt: number;
  readonly finishedAt: number;
  /** Wall time the pass took, in ms. */
  readonly durationMs: number;
  /** Every step ran to its end (individual failures are in `failed`; a step that could not run at all makes this `false`). */
  readonly ok: boolean;
}

export interface SchedulerEventMap {
  /** After every pass, including skipped ones. */
  pass: PassReport;
  /** The sink accepted a rotated key. */
  delivered: { at: number; rotationId: string; clientId: string; fingerprint: string; sink: string };
  /** The sink gave up; the rotation is being failed. `error` never holds the key. */
  deliveryFailed: { at: number; rotationId: string; clientId: string; fingerprint: string; sink: string; error: string };
}

export type SchedulerEventName = keyof SchedulerEventMap;

/** The scheduler's own small typed emitter (listener errors are logged, never thrown). */
export class SchedulerEvents {
  private readonly listeners = new Map<SchedulerEventName, Set<(event: never) => unknown>>();

  constructor(private readonly logger: Logger) {}

  on<E extends SchedulerEventName>(name: E, listener: (event: SchedulerEventMap[E]) => unknown): () => void {
    let set = this.listeners.get(name);
    if (!set) {
      set = new Set();
      this.listeners.set(name, set);
    }
    set.add(listener as (event: never) => unknown);
    return () => {
      set.delete(listener as (event: never) => unknown);
    };
  }

  emit<E extends SchedulerEventName>(name: E, event: SchedulerEventMap[E]): void {
    for (const listener of this.listeners.get(name) ?? []) {
      try {
        const result = (listener as (event: SchedulerEventMap[E]) => unknown)(event);
        if (result instanceof Promise) result.catch((error: unknown) => this.failed(name, error));
      } catch (error) {
        this.failed(name, error);
      }
    }
  }

  private failed(name: string, error: unknown): void {
    this.logger.error({ event: `scheduler.${name}`, ...errorFields(error) }, 'keyward: scheduler listener failed');
  }
}

export function emptySummary(): PassSummary {
  return {
    rotated: 0,
    delivered: 0,
    finalized: 0,
    purged: 0,
    expiring: 0,
    orphans: 0,
    recovered: 0,
    confirmed: 0,
    unconfirmed: 0,
    failed: 0,
    skippedLocked: false,
  };
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
