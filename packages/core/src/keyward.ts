import { type AuditChainReport, verifyAuditRows } from './audit-chain.js';
import { KeywardEmitter, type KeywardEventName, type KeywardListener, type VerifyContext } from './events.js';
import { type IssuedKey, type IssueOptions, issueKey } from './issue-key.js';
import { createKeyHasher } from './key-hash.js';
import type { KeyStore } from './key-store.js';
import { type KeyView, viewKeys } from './lifecycle/effective-status.js';
import { errorFields } from './logger.js';
import type { OpsContext } from './ops-context.js';
import { type KeywardConfig, type KeywardOptions, resolveOptions } from './options.js';
import { type PurgeResult, purgeKeys, type RevokeOptions, revokeKey } from './revoke.js';
import { type RotateOptions, type RotationResult, rotateKey } from './rotation.js';
import { type BatchItem, finalizeMany, markDeliveredMany, startRotations } from './rotation-batch.js';
import { abortRotation, type FinalizeResult, finalizeRotation, markRotationDelivered } from './rotation-end.js';
import type { KeyRecord, RotationRecord } from './types.js';
import { UsageRecorder } from './usage-recorder.js';
import { Verifier } from './verifier.js';
import type { VerifyResult } from './verify-result.js';

/**
 * The keyward core: verify keys on the hot path, and issue, rotate, finalize,
 * revoke and purge them. Framework adapters, the CLI and the scheduler all drive
 * this one object.
 */
export class Keyward {
  readonly config: KeywardConfig;
  /** The typed event emitter (`on`/`off` are shortcuts). Engines and adapters emit through it too. */
  readonly events: KeywardEmitter;
  private readonly verifier: Verifier;
  private readonly usage: UsageRecorder;
  private readonly ops: OpsContext;
  private subscription: Promise<(() => Promise<void>) | undefined> | undefined;

  constructor(options: KeywardOptions = {}) {
    this.config = resolveOptions(options);
    const { config } = this;
    this.events = new KeywardEmitter(config.logger);
    const hasher = createKeyHasher(config.pepper);
    this.usage = new UsageRecorder(config.store, config.logger, config.usageFlushMs);
    this.verifier = new Verifier({
      store: config.store,
      cache: config.cache,
      clock: config.clock,
      hasher,
      prefix: config.prefix,
      events: this.events,
      logger: config.logger,
      lruMax: config.lruMax,
      maxAge: config.maxAgeMs,
      negativeMax: config.negativeMax,
      negativeTtl: config.negativeTtlMs,
      usage: this.usage,
      usageResolution: config.usageResolutionMs,
      perConnection: config.perConnection,
    });
    this.ops = { config, hasher, events: this.events, verifier: this.verifier };
  }

  get store(): KeyStore {
    return this.config.store;
  }

  /**
   * Verifies a presented key. Never throws: every outcome, including "the store is
   * unreachable" (`unavailable`), is a result. `context` (method, path, ip) travels
   * into `key.rejected` and `key.used_in_grace` events. `connection` (the request's
   * socket, any object that lives as long as the client's connection) lets the
   * same key presented again on it skip the checksum and the hash (`lru.perConnection`).
   */
  verify(key: unknown, context?: VerifyContext, connection?: object): Promise<VerifyResult> {
    if (this.subscription === undefined && this.config.bus !== undefined) this.subscribe();
    return this.verifier.verify(key, context, connection);
  }

  /**
   * `verify` for adapters' hot paths: the result itself when it is decided in
   * memory (a cached key, garbage), a promise when the cache or store must be asked.
   * Never throws.
   */
  verifyFast(key: unknown, context?: VerifyContext, connection?: object): VerifyResult | Promise<VerifyResult> {
    if (this.subscription === undefined && this.config.bus !== undefined) this.subscribe();
    return this.verifier.verifyFast(key, context, connection);
  }

  /**
   * The per-connection memo alone (see `lru.perConnection`): the decision when
   * `connection` presented exactly the key `source.slice(offset)` last (compared in
   * place) and its cached entry may still decide, else `undefined`, and the caller
   * takes `verifyFast`. For adapters' hot paths: a key seen verified on this
   * connection needs no parsing again. Never throws.
   */
  verifyRepeat(source: string, offset: number, context: VerifyContext | undefined, connection: unknown): VerifyResult | undefined {
    if (this.subscription === undefined && this.config.bus !== undefined) this.subscribe();
    return this.verifier.verifyRepeat(source, offset, context, connection);
  }

  issue(clientId: string, options?: IssueOptions): Promise<IssuedKey> {
    return issueKey(this.ops, clientId, options);
  }

  rotate(clientId: string, options?: RotateOptions): Promise<RotationResult> {
    return rotateKey(this.ops, clientId, options);
  }

  /**
   * Starts a rotation whose new key still has to be delivered (by a secret sink):
   * the rotation is `started`, and only `markDelivered` lets it finalize. The
   * plaintext in the result must be handed to the sink and then dropped.
   */
  startRotation(clientId: string, options?: RotateOptions): Promise<RotationResult> {
    return rotateKey(this.ops, clientId, options, 'started');
  }

  markDelivered(rotationId: string, options?: { actor?: string; sink?: string }): Promise<void> {
    return markRotationDelivered(this.ops, rotationId, options);
  }

  /**
   * Batch forms for schedulers: many clients in one store transaction (see
   * rotation-batch.ts). Each answers `undefined`/`false` when any item lost a race,
   * having written nothing; redo those items one by one.
   */
  startRotations(items: readonly BatchItem[], options?: { actor?: string; reason?: string }): Promise<RotationResult[] | undefined> {
    return startRotations(this.ops, items, options);
  }

  markDeliveredMany(rotations: readonly RotationResult[], options?: { actor?: string; sink?: string }): Promise<boolean> {
    return markDeliveredMany(this.ops, rotations, options);
  }

  finalizeMany(
    items: readonly { rotation: RotationRecord; oldKey: KeyRecord | null; newKey: KeyRecord }[],
    options?: { actor?: string },
  ): Promise<boolean> {
    return finalizeMany(this.ops, items, options);
  }

  finalize(rotationId: string, options?: { actor?: string }): Promise<FinalizeResult> {
    return finalizeRotation(this.ops, rotationId, options);
  }

  /** Cancels an open rotation (old key stays, new key revoked). With `error`, the rotation is recorded as `failed`. */
  abort(rotationId: string, options?: { reason?: string; actor?: string; error?: string }): Promise<void> {
    return abortRotation(this.ops, rotationId, options);
  }

  revoke(keyId: string, options: RevokeOptions): Promise<KeyRecord> {
    return revokeKey(this.ops, keyId, options);
  }

  purge(options?: { actor?: string; limit?: number }): Promise<PurgeResult> {
    return purgeKeys(this.ops, options);
  }

  /**
   * Keys of a client, or of every client (never a plaintext: those are not stored).
   * `status` is the effective status, decided from timestamps as `verify` decides:
   * after a grace ends the old key shows `inactive` and the new one `active` before
   * the scheduler's `finalize` writes it; `storedStatus` is the stored column.
   */
  async listKeys(clientId?: string): Promise<KeyView[]> {
    const keys = await this.config.store.listKeys(clientId === undefined ? {} : { clientId });
    return viewKeys(this.config.store, keys, this.config.clock.now());
  }

  /** Reads the whole audit log and checks its hash chain; reports the first broken link. */
  async verifyAuditChain(): Promise<AuditChainReport> {
    return verifyAuditRows(await this.config.store.listAudit({}));
  }

  on<E extends KeywardEventName>(name: E, listener: KeywardListener<E>): () => void {
    return this.events.on(name, listener);
  }

  off<E extends KeywardEventName>(name: E, listener: KeywardListener<E>): void {
    this.events.off(name, listener);
  }

  /** Drops a key from this process's cache (the bus calls this for changes made elsewhere). */
  invalidate(keyHash: string): void {
    this.verifier.invalidate(keyHash);
  }

  /**
   * Subscribes to the invalidation bus, if one is configured. Called lazily by the
   * first `verify`; call it yourself to subscribe before the first request.
   */
  subscribe(): Promise<(() => Promise<void>) | undefined> {
    const { bus, logger } = this.config;
    if (this.subscription !== undefined) return this.subscription;
    if (bus === undefined) {
      this.subscription = Promise.resolve(undefined);
      return this.subscription;
    }
    const attempt: Promise<(() => Promise<void>) | undefined> = bus
      .subscribe({ invalidate: (hash) => this.verifier.invalidate(hash), reset: () => this.verifier.clear() })
      .catch((error: unknown) => {
        logger.error(errorFields(error), 'keyward: could not subscribe to the invalidation bus; will retry');
        this.verifier.clear();
        // Retry from a later verify, at most every 5 s, not on every request.
        setTimeout(() => {
          if (this.subscription === attempt) this.subscription = undefined;
        }, 5000).unref();
        return undefined;
      });
    this.subscription = attempt;
    return attempt;
  }

  /** Writes pending `last_used_at`, leaves the bus, and closes the store only if keyward created it. */
  async close(): Promise<void> {
    await this.usage.close();
    const unsubscribe = await this.subscription;
    this.subscription = Promise.resolve(undefined);
    if (unsubscribe) await unsubscribe();
    if (this.config.ownsStore) await this.config.store.close();
  }
}

export function createKeyward(options?: KeywardOptions): Keyward {
  return new Keyward(options);
}
