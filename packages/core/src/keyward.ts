import { auditScanPages } from './audit/audit-pages.js';
import { resolveVerifyAuditOptions, type VerifyAuditOptions } from './audit/verify-options.js';
import { type AuditVerifyReport, verifyAuditScan } from './audit/verify-stream.js';
import { ChangeFollower, type ChangeFollowerStatus } from './changes/change-follower.js';
import { VersionFloor } from './changes/version-floor.js';
import { hasConsoleQueries } from './console/console-queries.js';
import type { Duration } from './duration.js';
import { KeywardEmitter, type KeywardEventName, type KeywardListener, type VerifyContext } from './events.js';
import { type IssuedKey, type IssueOptions, issueKey } from './issue-key.js';
import { createKeyHasher } from './key-hash.js';
import { hasChangeLog, hasKeyHashScan, type KeyStore } from './key-store.js';
import { KnownKeys, type KnownKeysStatus } from './known-keys/known-keys.js';
import { type LeakResult, type ReportLeakOptions, reportLeak, reportLeaks } from './leak/report-leak.js';
import { type KeyView, viewKeys } from './lifecycle/effective-status.js';
import { type ExtendGraceOptions, extendGrace } from './lifecycle/extend-grace.js';
import { FirstUseRecorder } from './lifecycle/first-use.js';
import { reissueUnusedSuccessor } from './lifecycle/reissue-successor.js';
import { type RotationView, viewRotation } from './lifecycle/rotation-status.js';
import { type UnrevokeOptions, unrevokeKey } from './lifecycle/unrevoke.js';
import { errorFields } from './logger.js';
import type { OpsContext } from './ops-context.js';
import { type KeywardConfig, type KeywardOptions, resolveOptions } from './options.js';
import { type PurgeResult, purgeKeys, type RevokeOptions, revokeKey } from './revoke.js';
import { type RotateOptions, type RotationResult, rotateKey } from './rotation.js';
import { type BatchItem, finalizeMany, markDeliveredMany, startRotations } from './rotation-batch.js';
import { abortRotation, type FinalizeResult, finalizeRotation, type MarkDeliveredOptions, markRotationDelivered } from './rotation-end.js';
import { type GraceFrom, type KeyRecord, OPEN_ROTATION_STATES, type RotationRecord } from './types.js';
import { Verifier } from './verifier.js';
import type { AttemptGate } from './verify/attempt-gate.js';
import { UsageCounts } from './verify/usage-counts.js';
import { UsageRecorder } from './verify/usage-recorder.js';
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
  private readonly usageCounts: UsageCounts | undefined;
  private readonly ops: OpsContext;
  /** Follows the store's change log (absent when the store keeps none, or `changes.interval: false`). */
  private readonly follower: ChangeFollower | undefined;
  /** Which key hashes exist (absent without a followed change log, or with `knownKeys.filter: false`). */
  private readonly knownKeys: KnownKeys | undefined;
  /** Records the first use of a rotation's new key, off the hot path (issue 21). */
  private readonly firstUse: FirstUseRecorder;
  /** A bus or a change log to hear other processes' changes from: the first verify starts listening. */
  private readonly listens: boolean;
  private subscription: Promise<(() => Promise<void>) | undefined> | undefined;

  constructor(options: KeywardOptions = {}) {
    this.config = resolveOptions(options);
    const { config } = this;
    this.events = new KeywardEmitter(config.logger);
    const hasher = createKeyHasher(config.pepper);
    const { store } = config;
    const follow = config.changesIntervalMs !== null && hasChangeLog(store);
    const floor = follow ? new VersionFloor(config.replayWindowMs, Math.max(100_000, config.lruMax), () => config.clock.now()) : undefined;
    this.usage = new UsageRecorder(config.store, config.logger, config.usageFlushMs);
    if (config.usageCounts !== null && hasConsoleQueries(store)) {
      this.usageCounts = new UsageCounts(store, config.logger, config.usageFlushMs, {
        ms: config.usageCounts.retentionMs,
        clock: config.clock,
      });
    }
    // The filter is only as current as the change log that feeds it: without one, no filter.
    if (follow && config.knownKeys !== null && hasKeyHashScan(store)) {
      this.knownKeys = new KnownKeys({
        store,
        clock: config.clock,
        logger: config.logger,
        bitsPerKey: config.knownKeys.bitsPerKey,
        lookupsPerSecond: config.knownKeys.lookupsPerSecond,
        pageSize: 10_000,
      });
    }
    this.verifier = new Verifier({
      store: config.store,
      cache: config.cache,
      cacheTimeout: config.cacheTimeoutMs,
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
      usageCounts: this.usageCounts,
      usageResolution: config.usageResolutionMs,
      perConnection: config.perConnection,
      floor,
      knownKeys: this.knownKeys,
      sunsetBeforeExpiry: config.sunsetBeforeExpiryMs,
      firstUse: { note: (key, at) => this.firstUse.note(key, at) },
    });
    this.ops = { config, hasher, events: this.events, verifier: this.verifier };
    this.firstUse = new FirstUseRecorder(this.ops);
    if (follow && floor !== undefined && hasChangeLog(store)) {
      const verifier = this.verifier;
      const knownKeys = this.knownKeys;
      this.follower = new ChangeFollower({
        log: store,
        target: {
          applyChange: (hash, version, deleted) => {
            verifier.applyChange(hash, version, deleted);
            if (deleted) knownKeys?.removed();
            else knownKeys?.add(hash);
          },
          clear: () => {
            verifier.clear();
            knownKeys?.missed();
          },
        },
        floor,
        clock: config.clock,
        logger: config.logger,
        intervalMs: config.changesIntervalMs as number,
        replayWindowMs: config.replayWindowMs,
        retentionMs: config.changeRetentionMs,
        trimIntervalMs: 60_000,
        pageSize: 1000,
      });
    }
    this.listens = config.bus !== undefined || this.follower !== undefined;
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
    if (this.subscription === undefined && this.listens) this.subscribe();
    return this.verifier.verify(key, context, connection);
  }

  /**
   * `verify` for adapters' hot paths: the result itself when it is decided in
   * memory (a cached key, garbage), a promise when the cache or store must be asked.
   * `gate`, the failed-attempt limiter, is asked before a hash this process does not
   * know is looked up (`AttemptGate`). Never throws.
   */
  verifyFast(key: unknown, context?: VerifyContext, connection?: object, gate?: AttemptGate): VerifyResult | Promise<VerifyResult> {
    if (this.subscription === undefined && this.listens) this.subscribe();
    return this.verifier.verifyFast(key, context, connection, gate);
  }

  /**
   * The per-connection memo alone (see `lru.perConnection`): the decision when
   * `connection` presented exactly the key `source.slice(offset)` last (compared in
   * place) and its cached entry may still decide, else `undefined`, and the caller
   * takes `verifyFast`. For adapters' hot paths: a key seen verified on this
   * connection needs no parsing again. Never throws.
   */
  verifyRepeat(source: string, offset: number, context: VerifyContext | undefined, connection: unknown): VerifyResult | undefined {
    if (this.subscription === undefined && this.listens) this.subscribe();
    return this.verifier.verifyRepeat(source, offset, context, connection);
  }

  issue(clientId: string, options?: IssueOptions): Promise<IssuedKey> {
    return issueKey(this.ops, clientId, options);
  }

  rotate(clientId: string, options?: RotateOptions): Promise<RotationResult> {
    return rotateKey(this.ops, clientId, options);
  }

  /**
   * The old key (`keyId`) asks again for a successor it asked for (as `actor`) and
   * never used: the unused pending key is revoked and a fresh one issued, in one
   * audited commit. See `POST /api-keys/rotate` with `Keyward-Reissue`.
   */
  reissueUnusedSuccessor(clientId: string, options: RotateOptions & { keyId: string; actor: string }): Promise<RotationResult> {
    return reissueUnusedSuccessor(this.ops, clientId, options);
  }

  /**
   * Starts a rotation whose new key still has to be delivered (by a secret sink):
   * the rotation is `started`, and only `markDelivered` lets it finalize. The
   * plaintext in the result must be handed to the sink and then dropped.
   */
  startRotation(clientId: string, options?: RotateOptions): Promise<RotationResult> {
    return rotateKey(this.ops, clientId, options, 'started');
  }

  markDelivered(rotationId: string, options?: MarkDeliveredOptions): Promise<void> {
    return markRotationDelivered(this.ops, rotationId, options);
  }

  /**
   * Batch forms for schedulers: many clients in one store transaction (see
   * rotation-batch.ts). Each answers `undefined`/`false` when any item lost a race,
   * having written nothing; redo those items one by one.
   */
  startRotations(
    items: readonly BatchItem[],
    options?: { actor?: string; reason?: string; graceFrom?: GraceFrom; maxWait?: Duration },
  ): Promise<RotationResult[] | undefined> {
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

  /** Gives the old key of an open rotation more time (see `extendGrace`). */
  extendGrace(rotationId: string, options: ExtendGraceOptions): Promise<{ graceUntil: number }> {
    return extendGrace(this.ops, rotationId, options);
  }

  revoke(keyId: string, options: RevokeOptions): Promise<KeyRecord> {
    return revokeKey(this.ops, keyId, options);
  }

  /**
   * A leak report: each token that is one of our keys and still accepted is revoked now
   * (reason `leaked: <source>`), or with `policy: 'rotate'` its successor is delivered
   * through `sink` and then it is revoked. Every token is audited by fingerprint; nothing
   * stores or logs the plaintext. At most 1,000 tokens. See `reportLeak`.
   */
  reportLeak(tokens: readonly string[], options: ReportLeakOptions): Promise<LeakResult[]> {
    return reportLeak(this.ops, tokens, options);
  }

  /** `reportLeak` with where each token was found (a scanner's report): `[{ token, source }]`. */
  reportLeaks(
    items: readonly { readonly token: string; readonly source: string }[],
    options: Omit<ReportLeakOptions, 'source'> = {},
  ): Promise<LeakResult[]> {
    return reportLeaks(this.ops, items, options);
  }

  /** Undoes a mistaken revoke within `unrevokeWindow` (see `unrevokeKey` for when it is refused). */
  unrevoke(keyId: string, options: UnrevokeOptions): Promise<KeyRecord> {
    return unrevokeKey(this.ops, keyId, options);
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

  /**
   * Streams the audit log in keyset pages and checks its hash chain, plus each anchor
   * (a published head: detects a cut tail, a re-chained trail, a forked head); reports
   * the first problem. With `publicKey` (Ed25519), every anchor must be signed by it.
   */
  async verifyAuditChain(options: VerifyAuditOptions = {}): Promise<AuditVerifyReport> {
    const { anchors, publicKey, pageSize } = resolveVerifyAuditOptions(options);
    return verifyAuditScan(auditScanPages(this.config.store, pageSize), anchors, publicKey);
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
   * Starts hearing other processes' key changes: follows the store's change log (the
   * truth, read every `changes.interval`) and subscribes to the invalidation bus, if
   * one is configured (the fast path: each message drops its key and wakes the
   * follower). Called lazily by the first `verify`; call it yourself to listen before
   * the first request. Resolves once the bus is subscribed; the change log's replay
   * goes on in the background (see `changeLogStatus()`).
   */
  subscribe(): Promise<(() => Promise<void>) | undefined> {
    const { bus, logger } = this.config;
    if (this.subscription !== undefined) return this.subscription;
    const follower = this.follower;
    void follower?.start();
    this.knownKeys?.start();
    if (bus === undefined) {
      this.subscription = Promise.resolve(undefined);
      return this.subscription;
    }
    const verifier = this.verifier;
    const handlers = {
      invalidate: (hash: string) => {
        verifier.invalidate(hash);
        follower?.wake();
      },
      // Messages were lost. With the change log followed, reading it catches up on all of
      // them; without it (or while it cannot be read) every entry must be re-confirmed.
      reset: () => {
        if (follower === undefined || follower.status().failing) verifier.clear();
        follower?.wake();
      },
    };
    const attempt: Promise<(() => Promise<void>) | undefined> = bus.subscribe(handlers).catch((error: unknown) => {
      logger.error(errorFields(error), 'keyward: could not subscribe to the invalidation bus; will retry');
      handlers.reset();
      // Retry from a later verify, at most every 5 s, not on every request.
      setTimeout(() => {
        if (this.subscription === attempt) this.subscription = undefined;
      }, 5000).unref();
      return undefined;
    });
    this.subscription = attempt;
    return attempt;
  }

  /**
   * Where this process stands in the store's change log: the last seq applied, whether
   * the replay is done, when the log was last read. `undefined` when it is not followed.
   */
  changeLogStatus(): ChangeFollowerStatus | undefined {
    return this.follower?.status();
  }

  /**
   * The known-keys filter: whether it decides yet, its size, memory and expected
   * false-positive rate, what it ruled out and what its lookup budget did. `undefined`
   * when there is none (see `knownKeys`).
   */
  knownKeysStatus(): KnownKeysStatus | undefined {
    return this.knownKeys?.status();
  }

  /** Resolves when the known-keys filter decides (built from the store), at once when there is none. */
  async knownKeysReady(): Promise<void> {
    if (this.knownKeys === undefined) return;
    if (this.subscription === undefined) this.subscribe();
    await this.knownKeys.whenReady();
  }

  /** A rotation's progress (`pending`, `switched`, `completed`, `aborted`), first use and deadline; `null` for an unknown id. */
  async rotationStatus(rotationId: string): Promise<RotationView | null> {
    const rotation = await this.config.store.findRotation(rotationId);
    return rotation === null ? null : viewRotation(rotation);
  }

  /** Rotations, oldest first: of one client, or all; `open` only those still in progress. */
  async listRotations(clientId?: string, options: { open?: boolean; limit?: number } = {}): Promise<RotationView[]> {
    const rotations = await this.config.store.listRotations({
      ...(clientId === undefined ? {} : { clientId }),
      ...(options.open ? { state: OPEN_ROTATION_STATES } : {}),
      ...(options.limit === undefined ? {} : { limit: options.limit }),
    });
    return rotations.map(viewRotation);
  }

  /** Resolves once every first-use write started so far has settled (tests; `close` waits for them too). */
  firstUsesRecorded(): Promise<void> {
    return this.firstUse.settled();
  }

  /**
   * Writes the `last_used_at` times and usage counts collected so far, now rather than
   * at the next flush interval (the console's "refresh", tests). Never rejects.
   */
  async flushUsage(): Promise<void> {
    await this.usage.flush();
    await this.usageCounts?.flush();
  }

  /**
   * Reads the change log now and resolves once every change committed before the call
   * has been applied to this process (a no-op when the log is not followed).
   */
  async catchUp(): Promise<void> {
    if (this.follower === undefined) return;
    if (this.subscription === undefined) this.subscribe();
    await this.follower.start();
    await this.follower.read();
  }

  /** Writes pending `last_used_at`, leaves the bus, and closes the store only if keyward created it. */
  async close(): Promise<void> {
    await this.firstUse.settled();
    await this.usage.close();
    await this.usageCounts?.close();
    await this.follower?.stop();
    await this.knownKeys?.stop();
    const unsubscribe = await this.subscription;
    this.subscription = Promise.resolve(undefined);
    if (unsubscribe) await unsubscribe();
    if (this.config.ownsStore) await this.config.store.close();
  }
}

export function createKeyward(options?: KeywardOptions): Keyward {
  return new Keyward(options);
}
