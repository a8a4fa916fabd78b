import type { Clock } from '../clock.js';
import type { KeyHashScan } from '../key-store.js';
import { errorFields, type Logger } from '../logger.js';
import { HashFilter } from './hash-filter.js';
import { HashWords } from './hash-words.js';
import { LookupBudget, type LookupBudgetStatus } from './lookup-budget.js';

export interface KnownKeysConfig {
  readonly store: KeyHashScan;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly bitsPerKey: number;
  /** Ruled-out keys checked against the store per second anyway (`LookupBudget`). */
  readonly lookupsPerSecond: number;
  /** Hashes read per store query while building. */
  readonly pageSize: number;
}

/** What `Keyward.knownKeysStatus()` reports (Prometheus gauges, `keyward doctor`). */
export interface KnownKeysStatus {
  /** The filter decides: until then (start-up, a gap in the change log) every key takes the store path. */
  readonly ready: boolean;
  readonly building: boolean;
  /** Keys in the filter. */
  readonly keys: number;
  /** Memory of the filter's bit array. */
  readonly bytes: number;
  /** Expected false-positive rate at its current fill. */
  readonly falsePositiveRate: number;
  /** When the filter in use was built (the clock's ms), or `null`. */
  readonly builtAt: number | null;
  /** How long its build took (ms). */
  readonly buildMs: number | null;
  /** Keys the filter ruled out (refused, or looked up on the budget). */
  readonly ruledOut: number;
  readonly budget: LookupBudgetStatus;
}

/** Headroom a build leaves for keys issued afterwards, before the next build. */
const HEADROOM = 1.5;
const MIN_CAPACITY = 16_384;

/**
 * Which key hashes exist, in memory, so that a flood of well-formed but never-issued
 * keys costs the store nothing (DESIGN.md, "Unknown keys cost no I/O"). A Bloom
 * filter over every key hash in the store (any status: a retired key is still looked
 * up, so its use is refused as `revoked` or `inactive` and alerted), built by paging
 * through the store's hashes at start, and kept current from the change log (a key
 * inserted anywhere, the follower's `applyChange`) and from this process's own
 * commits (a key issued here works at once).
 *
 * A key the filter rules out is unknown without I/O, unless the `LookupBudget`
 * allows a lookup anyway (a key issued elsewhere that the log has not brought yet).
 * Deletions cannot be taken out of a Bloom filter: a purged key costs a lookup, as
 * every key did before, until enough deletions (a quarter of the keys) trigger a
 * rebuild, as does outgrowing the capacity. A gap in the change log (changes trimmed
 * before this process read them) may have hidden new keys: the filter stops deciding
 * until it is rebuilt.
 */
export class KnownKeys {
  private current: HashFilter | undefined;
  /** The hashes a build has read so far: every key heard meanwhile goes in too. */
  private nextWords: HashWords | undefined;
  private building: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private started = false;
  private deletions = 0;
  private builtAt: number | null = null;
  private buildMs: number | null = null;
  private lastKnownCount = 0;
  private ruledOut = 0;
  private readonly budget: LookupBudget;

  constructor(private readonly config: KnownKeysConfig) {
    this.budget = new LookupBudget(config.lookupsPerSecond, config.clock.now());
  }

  /**
   * What to do with a hash this process does not hold: `'maybe'` (the filter is not
   * ready, or the key may exist: look it up), `'lookup'` (ruled out, but the budget
   * allows a check: look it up, and call `foundRuledOut` if it exists), `'refuse'`
   * (ruled out: unknown, without I/O).
   */
  check(keyHash: string): 'maybe' | 'lookup' | 'refuse' {
    const filter = this.current;
    if (filter === undefined || filter.mayContain(keyHash)) return 'maybe';
    this.ruledOut++;
    return this.budget.take(this.config.clock.now()) ? 'lookup' : 'refuse';
  }

  /** `false` only when the filter decides and rules the hash out (no budget spent, nothing counted): for ordering work, never for refusing. */
  mayExist(keyHash: string): boolean {
    const filter = this.current;
    return filter === undefined || filter.mayContain(keyHash);
  }

  /** A lookup that `check` allowed on the budget found the key: it was new, not yet heard. */
  foundRuledOut(keyHash: string): void {
    this.budget.foundKey();
    this.add(keyHash);
  }

  /**
   * A key was inserted or changed (the change log, or this process's commit). Added
   * only when the filter rules it out: a key already "maybe" needs nothing, so a key's
   * later status changes do not count it again.
   */
  add(keyHash: string): void {
    if (this.current !== undefined && !this.current.mayContain(keyHash)) this.current.add(keyHash);
    if (this.nextWords !== undefined) this.nextWords.push(keyHash);
    else if (this.current !== undefined && this.current.count > this.current.capacity) void this.rebuild('grown past its capacity');
  }

  /** A key was deleted (purge): it stays "maybe" until the next build. */
  removed(): void {
    this.deletions++;
    if (this.current !== undefined && this.building === undefined && this.deletions > Math.max(1000, this.current.count / 4)) {
      void this.rebuild('many deletions');
    }
  }

  /** Changes were missed (a gap in the log): keys may exist that the filter lacks. Stop deciding; rebuild. */
  missed(): void {
    if (this.stopped) return;
    this.current = undefined;
    void this.rebuild('changes were missed');
  }

  /** Builds the filter the first time it is called (the first verify's `subscribe`); later calls do nothing. */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.rebuild('start');
  }

  /** Resolves once the filter decides (or is stopped): at once when it does already. */
  async whenReady(): Promise<void> {
    this.start();
    while (this.current === undefined && !this.stopped) await (this.building ?? this.rebuild('asked'));
  }

  /** Builds the filter (again). Resolves when the build that covers this call is done; never rejects. */
  rebuild(why = 'start'): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.building !== undefined) {
      this.again = true;
      return this.building;
    }
    this.building = this.build(why).finally(() => {
      this.building = undefined;
      if (this.again && !this.stopped) {
        this.again = false;
        void this.rebuild('changes during the build');
      }
    });
    return this.building;
  }

  stop(): Promise<void> {
    this.stopped = true;
    return this.building ?? Promise.resolve();
  }

  status(): KnownKeysStatus {
    const filter = this.current;
    return {
      ready: filter !== undefined,
      building: this.building !== undefined,
      keys: filter?.count ?? 0,
      bytes: filter?.bytes ?? 0,
      falsePositiveRate: filter?.falsePositiveRate() ?? 1,
      builtAt: this.builtAt,
      buildMs: this.buildMs,
      ruledOut: this.ruledOut,
      budget: this.budget.status(),
    };
  }

  /**
   * Pages through the store's hashes, keeping only the two words the probes use (8
   * bytes a key), then sizes the filter for what it found. Keys heard during the
   * scan are kept too (`nextWords`), so a key committed after its page was read is
   * not lost. A failed read is retried after a pause; the old filter (if any) goes
   * on deciding meanwhile.
   */
  private async build(why: string): Promise<void> {
    const { store, clock, logger, pageSize } = this.config;
    const started = clock.now();
    for (let attempt = 0; !this.stopped; attempt++) {
      const words = new HashWords();
      this.nextWords = words;
      try {
        let after = '';
        for (;;) {
          const page = await store.scanKeyHashes(after, pageSize);
          for (const hash of page) words.push(hash);
          if (page.length < pageSize || this.stopped) break;
          after = page[page.length - 1] as string;
          // Let requests run between pages: a million keys must not stall the first requests.
          await new Promise((resolve) => setImmediate(resolve));
        }
      } catch (error) {
        this.nextWords = undefined;
        logger.warn({ ...errorFields(error), attempt }, 'keyward: could not read key hashes for the known-keys filter; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 1000 * 2 ** attempt)).unref());
        continue;
      }
      if (this.stopped) return;
      const count = words.count;
      const filter = new HashFilter(
        Math.max(MIN_CAPACITY, Math.ceil(Math.max(count, this.lastKnownCount) * HEADROOM)),
        this.config.bitsPerKey,
      );
      words.addTo(filter);
      this.nextWords = undefined;
      this.current = filter;
      this.deletions = 0;
      this.lastKnownCount = count;
      this.builtAt = clock.now();
      this.buildMs = this.builtAt - started;
      logger.info(
        { keys: count, bytes: filter.bytes, ms: this.buildMs, reason: why },
        'keyward: known-keys filter built; unknown keys are refused without a store lookup',
      );
      return;
    }
  }
}
