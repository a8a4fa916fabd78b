import { KeyClientError, KeyClientErrorCodes } from './errors.js';
import type { Emitter } from './events.js';
import type { KeyClientConfig } from './options.js';
import type { KeyState, StoredKey } from './stores/key-store.js';

/**
 * The key this process uses now, loaded lazily (once, memoised) from the store,
 * plus what responses said about it (its `Sunset`). Switching keys happens here only.
 */
export class KeyHolder {
  private state: KeyState | undefined;
  private loading: Promise<KeyState> | undefined;
  /** Epoch ms the current key stops working, from a `Sunset` header or a rotation answer. */
  private sunsets = new Map<string, number>();
  private accepting: Promise<void> | undefined;
  /** The key this process is saving now: a store watcher must not "adopt" it first. */
  private saving: string | undefined;

  constructor(
    private readonly config: KeyClientConfig,
    private readonly emitter: Emitter,
  ) {}

  /** The state, loading it on first use. Rejects with `no_key` when the store is empty. */
  ready(): Promise<KeyState> {
    if (this.state !== undefined) return Promise.resolve(this.state);
    this.loading ??= this.config.store.load().then(
      (state) => {
        if (state === undefined) {
          this.loading = undefined;
          throw new KeyClientError(KeyClientErrorCodes.NO_KEY, 'the key store holds no key: put the API key in it first.');
        }
        this.state ??= state;
        return this.state;
      },
      (error: unknown) => {
        this.loading = undefined;
        throw error;
      },
    );
    return this.loading;
  }

  get current(): StoredKey | undefined {
    return this.state?.current;
  }

  get full(): KeyState | undefined {
    return this.state;
  }

  sunsetOf(fingerprint: string): number | undefined {
    return this.sunsets.get(fingerprint);
  }

  noteSunset(fingerprint: string, at: number): void {
    this.sunsets.set(fingerprint, at);
  }

  /** Marks `key` as being saved by this process (then `switchTo` follows). */
  willSave(key: string | undefined): void {
    this.saving = key;
  }

  /** Switches to `next`, already saved. Emits `rotated` when the key changed. */
  switchTo(next: KeyState, how: 'rotated' | 'adopted'): void {
    if (how === 'rotated') this.saving = undefined;
    const before = this.state?.current;
    this.state = next;
    if (before !== undefined && before.key !== next.current.key) {
      this.emitter.emit('rotated', { from: before.fingerprint, to: next.current.fingerprint, expiresAt: next.current.expiresAt, how });
    }
  }

  private reloading: Promise<unknown> = Promise.resolve();

  /**
   * Re-reads the store; adopts its key when another writer changed it. Returns the state
   * in use. Reloads run one after another: two overlapping reads (two change events)
   * could otherwise finish out of order and put back the key the later one replaced.
   */
  reload(): Promise<KeyState | undefined> {
    const run = this.reloading.then(() => this.reloadNow());
    this.reloading = run.catch(() => undefined);
    return run;
  }

  private async reloadNow(): Promise<KeyState | undefined> {
    const stored = await this.config.store.load();
    if (stored !== undefined && stored.current.key !== this.state?.current.key && stored.current.key !== this.saving) {
      this.switchTo(stored, 'adopted');
    }
    return this.state;
  }

  /**
   * The current key was accepted once: the previous one is no longer needed and
   * is dropped from the store (once, off the request path).
   */
  accepted(used: StoredKey): void {
    const state = this.state;
    if (state === undefined || state.previous === null || state.current.key !== used.key || this.accepting !== undefined) return;
    if (this.config.store.readOnly) return;
    const next: KeyState = { current: state.current, previous: null, pending: null };
    this.accepting = (async () => {
      const stored = await this.config.store.load();
      // Only when the store still holds this key (another process may have rotated again).
      if (stored?.current.key === used.key && stored.previous !== null) await this.config.store.save({ ...next, pending: stored.pending });
      if (this.state?.current.key === used.key) this.state = next;
    })()
      .catch(() => undefined)
      .finally(() => {
        this.accepting = undefined;
      });
  }
}
