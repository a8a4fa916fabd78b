import { randomUUID } from 'node:crypto';
import { KeyClientError, KeyClientErrorCodes } from '../errors.js';
import type { Emitter } from '../events.js';
import type { KeyHolder } from '../key-holder.js';
import type { KeyClientConfig } from '../options.js';
import type { KeyState, PendingRotation, StoredKey } from '../stores/key-store.js';
import { callRotate, type RotateAnswer } from './rotate-call.js';

const POLL_MS = 50;

/**
 * Rotates a key at most once: one call in flight per key (single-flight), one
 * process per store (the store's lock), and after a failure no automatic attempt
 * before the backoff has passed.
 */
export class Rotator {
  private readonly inFlight = new Map<string, Promise<StoredKey>>();
  private failures = 0;
  private retryAt = 0;
  private lastError: KeyClientError | undefined;
  private warnedReadOnly = new Set<string>();

  constructor(
    private readonly config: KeyClientConfig,
    private readonly holder: KeyHolder,
    private readonly emitter: Emitter,
  ) {}

  get lastFailure(): KeyClientError | undefined {
    return this.lastError;
  }

  /** A trigger (Sunset, near expiry): rotates in the background unless backing off. Never throws. */
  trigger(from: StoredKey): void {
    if (this.inFlight.has(from.fingerprint) || this.config.clock.now() < this.retryAt) return;
    if (this.config.store.readOnly) {
      this.warnReadOnly(from);
      return;
    }
    this.rotate(from).catch(() => undefined);
  }

  /** Rotates `from` (explicit `client.rotate()` skips the backoff). Resolves with the key now in use. */
  rotate(from: StoredKey): Promise<StoredKey> {
    if (this.config.store.readOnly) {
      this.warnReadOnly(from);
      return Promise.reject(
        new KeyClientError(KeyClientErrorCodes.READ_ONLY_STORE, 'the key store is read-only: replace the key where it is configured.'),
      );
    }
    const running = this.inFlight.get(from.fingerprint);
    if (running !== undefined) return running;
    const attempt = this.run(from).finally(() => this.inFlight.delete(from.fingerprint));
    this.inFlight.set(from.fingerprint, attempt);
    return attempt;
  }

  private async run(from: StoredKey): Promise<StoredKey> {
    try {
      const result = await this.locked(from);
      this.failures = 0;
      this.retryAt = 0;
      this.lastError = undefined;
      return result;
    } catch (error) {
      this.failures++;
      const wait = Math.min(this.config.backoffMax, this.config.backoffInitial * 2 ** (this.failures - 1));
      this.retryAt = this.config.clock.now() + wait;
      const failure =
        error instanceof KeyClientError
          ? error
          : new KeyClientError(KeyClientErrorCodes.ROTATION_FAILED, `rotation failed (${(error as Error)?.name ?? 'error'}).`);
      this.lastError = failure;
      this.emitter.emit('rotation.failed', {
        fingerprint: from.fingerprint,
        code: failure.code,
        message: failure.message,
        status: failure.status,
        retryAt: this.retryAt,
      });
      throw failure;
    }
  }

  /** Takes the store's lock (if it has one); a process that cannot waits for the holder's key. */
  private async locked(from: StoredKey): Promise<StoredKey> {
    const deadline = this.config.clock.now() + this.config.lockWait;
    for (;;) {
      const release = this.config.store.lock === undefined ? async () => undefined : await this.config.store.lock();
      if (release !== undefined) {
        try {
          return await this.rotateLocked(from);
        } finally {
          await release();
        }
      }
      const state = await this.holder.reload();
      if (state !== undefined && state.current.key !== from.key) return state.current;
      if (this.config.clock.now() >= deadline) {
        throw new KeyClientError(
          KeyClientErrorCodes.ROTATION_FAILED,
          'another process holds the rotation lock and has not saved a new key yet.',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  private async rotateLocked(from: StoredKey): Promise<StoredKey> {
    const stored = await this.config.store.load();
    if (stored !== undefined && stored.current.key !== from.key) {
      this.holder.switchTo(stored, 'adopted');
      return stored.current;
    }
    const base: KeyState = stored ?? { current: from, previous: null, pending: null };
    let pending = base.pending?.from === from.fingerprint ? base.pending : null;
    if (pending === null) {
      pending = { from: from.fingerprint, idempotencyKey: randomUUID(), startedAt: new Date(this.config.clock.now()).toISOString() };
      // Durable before the call: a crash retries the same rotation.
      const adopted = await this.savePending(from, pending);
      if (adopted !== undefined) return adopted;
    }
    let answer: RotateAnswer;
    try {
      answer = await callRotate(this.config, from.key, pending.idempotencyKey, false);
    } catch (error) {
      // 409: a successor exists that this process never got (an operator's rotation,
      // another store's replica): another store may bring it; else ask the server to reissue.
      if (!(error instanceof KeyClientError) || error.status !== 409) throw error;
      const state = await this.holder.reload();
      if (state !== undefined && state.current.key !== from.key) return state.current;
      const reissued = await this.reissue(from);
      if ('adopted' in reissued) return reissued.adopted;
      answer = reissued;
    }
    if (answer.key === undefined) {
      const reissued = await this.reissue(from);
      if ('adopted' in reissued) return reissued.adopted;
      answer = reissued;
    }
    return this.adopt(from, answer);
  }

  /**
   * Saves `pending` on top of the stored state, unless another writer (a process
   * without the lock, an operator, a sink) replaced the key meanwhile: then that
   * key is adopted and returned, and nothing is written over it.
   */
  private async savePending(from: StoredKey, pending: PendingRotation): Promise<StoredKey | undefined> {
    const fresh = await this.config.store.load();
    if (fresh !== undefined && fresh.current.key !== from.key) {
      this.holder.switchTo(fresh, 'adopted');
      return fresh.current;
    }
    await this.config.store.save({ ...(fresh ?? { current: from, previous: null }), pending });
    return undefined;
  }

  /** A replay without the plaintext (the first answer was lost), or a 409: ask for a fresh successor. */
  private async reissue(from: StoredKey): Promise<RotateAnswer | { key: undefined; adopted: StoredKey }> {
    const pending: PendingRotation = {
      from: from.fingerprint,
      idempotencyKey: randomUUID(),
      startedAt: new Date(this.config.clock.now()).toISOString(),
    };
    const adopted = await this.savePending(from, pending);
    if (adopted !== undefined) return { key: undefined, adopted };
    const answer = await callRotate(this.config, from.key, pending.idempotencyKey, true);
    if (answer.key === undefined) {
      throw new KeyClientError(
        KeyClientErrorCodes.ROTATION_FAILED,
        'the server replayed the rotation without the new key and did not reissue it.',
      );
    }
    return answer;
  }

  private async adopt(from: StoredKey, answer: RotateAnswer): Promise<StoredKey> {
    const current: StoredKey = { key: answer.key as string, fingerprint: answer.fingerprint, expiresAt: answer.expiresAt };
    const previous: StoredKey = { ...from, fingerprint: answer.oldFingerprint || from.fingerprint };
    const next: KeyState = { current, previous, pending: null };
    this.holder.willSave(current.key);
    try {
      await this.config.store.save(next); // durable before the first request uses it
    } catch (error) {
      this.holder.willSave(undefined);
      throw error;
    }
    this.holder.noteSunset(from.fingerprint, answer.sunsetAt);
    this.holder.switchTo(next, 'rotated');
    return current;
  }

  private warnReadOnly(from: StoredKey): void {
    if (this.warnedReadOnly.has(from.fingerprint)) return;
    this.warnedReadOnly.add(from.fingerprint);
    const sunset = this.holder.sunsetOf(from.fingerprint);
    this.config.logger?.warn(
      { fingerprint: from.fingerprint, sunset: sunset === undefined ? null : new Date(sunset).toISOString() },
      'The API key is being retired and the key store is read-only: replace the key before its sunset.',
    );
    this.emitter.emit('rotation.failed', {
      fingerprint: from.fingerprint,
      code: KeyClientErrorCodes.READ_ONLY_STORE,
      message: 'the key store is read-only: replace the key where it is configured.',
      status: undefined,
      retryAt: Number.POSITIVE_INFINITY,
    });
  }
}
