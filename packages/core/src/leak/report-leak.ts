import type { SecretSink } from '../engine/secret-sink.js';
import { ErrorCodes } from '../error-codes.js';
import { KeywardError } from '../errors.js';
import { checkKeyFormat } from '../key-format.js';
import { fingerprintOf } from '../key-hash.js';
import { refusalAt } from '../lifecycle.js';
import { auditFor, type OpsContext } from '../ops-context.js';
import { revokeKey } from '../revoke.js';
import { rotateKey } from '../rotation.js';
import { markRotationDelivered } from '../rotation-end.js';
import { type AuditEntry, type KeyRecord, toLiveKey } from '../types.js';
import { checkText } from '../validate.js';
import { leakReason, revokeLeakedTogether } from './revoke-leaked.js';

/** What happens to a leaked key that is still accepted. */
export type LeakPolicy = 'revoke' | 'rotate';

export interface ReportLeakOptions {
  /** Where the key was found (a URL of the commit, paste or page). Required: it goes to the audit trail. */
  source: string;
  /** `revoke` (default): revoked now, reason `leaked`. `rotate`: a successor is delivered through `sink`, then the leaked key is revoked now (no grace). */
  policy?: LeakPolicy;
  /** Who reports it, for the audit trail. Default `leak-report`. */
  actor?: string;
  /** Delivers the successor with `policy: 'rotate'` (required then). */
  sink?: SecretSink;
}

/**
 * One reported token's fate:
 * - `revoked`: ours, accepted until now, revoked;
 * - `rotated`: ours, revoked after its successor was delivered;
 * - `already_retired`: ours, but already revoked, inactive or expired (reported again);
 * - `not_ours`: well-formed but no such key (or of another deployment);
 * - `malformed`: not a key of this deployment's format (prefix, length, checksum).
 */
export type LeakOutcome = 'revoked' | 'rotated' | 'already_retired' | 'not_ours' | 'malformed';

export interface LeakResult {
  /** SHA-256 (or HMAC) hex of the token as this deployment hashes keys: how a report is answered without echoing it. */
  readonly tokenHash: string;
  /** The 8-character fingerprint of that hash (never the token). */
  readonly fingerprint: string;
  /** `true_positive`: a key of this deployment (live or retired); `false_positive`: anything else. */
  readonly label: 'true_positive' | 'false_positive';
  readonly outcome: LeakOutcome;
  readonly clientId: string | null;
}

const MAX_TOKENS = 1000;
/** Lookups in flight while a report is checked. */
const LOOKUPS_AT_ONCE = 8;
/** Hashes per lookup, with a store that finds many at once (`findKeysByHashes`). */
const HASHES_PER_LOOKUP = 100;

/**
 * A leak report (issue 15): each token that is one of our keys and still accepted is
 * revoked at once with reason `leaked` and the source (or rotated, then revoked: a leaked
 * key gets no grace). Every token is audited (`key.leak_reported`, fingerprint only),
 * including keys already retired and false positives, and raises `key.leaked` for ours.
 * Idempotent: a second report of the same key finds it revoked (`already_retired`).
 * The plaintext is hashed on entry and never stored, logged or put in an event.
 */
export async function reportLeak(ctx: OpsContext, tokens: readonly string[], options: ReportLeakOptions): Promise<LeakResult[]> {
  if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'string')) {
    throw new KeywardError(ErrorCodes.INVALID_ARGUMENT, 'tokens must be an array of strings', { argument: 'tokens' });
  }
  const source = checkText(options?.source, 'source', true) as string;
  return reportLeaks(
    ctx,
    tokens.map((token) => ({ token, source })),
    options,
  );
}

/**
 * `reportLeak` with a source per token (a scanner's report names where each was found).
 * What matters most is how soon a leaked key stops working: the tokens the known-keys
 * filter says may be ours are looked up first (many hashes per query), and their live keys
 * are revoked together in one commit, published to other processes at once, while the
 * other tokens are still being looked up. The report's remaining audit rows (false
 * positives, keys already retired) are written in one transaction at the end.
 */
export async function reportLeaks(
  ctx: OpsContext,
  items: readonly { readonly token: string; readonly source: string }[],
  options: Omit<ReportLeakOptions, 'source'>,
): Promise<LeakResult[]> {
  if (!Array.isArray(items))
    throw new KeywardError(ErrorCodes.INVALID_ARGUMENT, 'tokens must be an array of strings', { argument: 'tokens' });
  if (items.length > MAX_TOKENS) {
    throw new KeywardError(ErrorCodes.INVALID_ARGUMENT, `a report holds at most ${MAX_TOKENS} tokens; got ${items.length}`, {
      argument: 'tokens',
    });
  }
  for (const item of items) {
    if (typeof item?.token !== 'string')
      throw new KeywardError(ErrorCodes.INVALID_ARGUMENT, 'tokens must be an array of strings', { argument: 'tokens' });
    checkText(item.source, 'source', true);
  }
  const actor = checkText(options.actor, 'actor') ?? 'leak-report';
  const policy = options.policy ?? 'revoke';
  if (policy !== 'revoke' && policy !== 'rotate') {
    throw new KeywardError(ErrorCodes.INVALID_ARGUMENT, `policy must be "revoke" or "rotate"; got ${JSON.stringify(policy)}`, {
      argument: 'policy',
    });
  }
  if (policy === 'rotate' && (options.sink === undefined || typeof options.sink.deliver !== 'function')) {
    throw new KeywardError(ErrorCodes.INVALID_ARGUMENT, 'policy "rotate" needs a sink to deliver the successor', { argument: 'sink' });
  }
  const { store, clock, logger } = ctx.config;
  // The same token twice in one report is decided once (the first place it was found).
  const unique = new Map<string, { token: string; source: string; tokenHash: string }>();
  for (const { token, source } of items) {
    const tokenHash = ctx.hasher(token);
    if (!unique.has(tokenHash)) unique.set(tokenHash, { token, source, tokenHash });
  }
  const decided = new Map<string, LeakResult>();
  const audit: AuditEntry[] = [];
  const reportRow = (outcome: LeakOutcome, tokenHash: string, source: string, key: KeyRecord | null): AuditEntry => {
    const fingerprint = fingerprintOf(tokenHash);
    return auditFor('key.leak_reported', clock.now(), key === null ? null : { id: key.id, clientId: key.clientId, fingerprint }, {
      actor,
      reason: source,
      data: { outcome, policy, ...(key === null ? { fingerprint } : {}) },
    });
  };
  const falsePositive = (outcome: 'malformed' | 'not_ours', tokenHash: string, source: string) => {
    decided.set(tokenHash, { tokenHash, fingerprint: fingerprintOf(tokenHash), label: 'false_positive', outcome, clientId: null });
    audit.push(reportRow(outcome, tokenHash, source, null));
  };
  const candidates: Candidate[] = [];
  for (const { token, source, tokenHash } of unique.values()) {
    if (checkKeyFormat(token, ctx.config.prefix) === undefined) candidates.push({ source, tokenHash });
    else falsePositive('malformed', tokenHash, source);
  }

  /** Takes the keys of ours among `found` out of service (live ones together), then records, logs and raises `key.leaked`. */
  const decideOurs = async (found: readonly Found[]) => {
    const ours: { source: string; tokenHash: string; key: KeyRecord }[] = [];
    for (const f of found) {
      if (f.key === null) falsePositive('not_ours', f.tokenHash, f.source);
      else ours.push({ ...f, key: f.key });
    }
    const now = clock.now();
    const live = ours.filter(({ key }) => refusalAt(toLiveKey(key), now) === undefined);
    const toRotate = policy === 'rotate' ? live.filter(({ key }) => key.status === 'active' && key.graceUntil === null) : [];
    const toRevoke = live.filter((o) => !toRotate.includes(o));
    const outcomes = new Map<string, { outcome: LeakOutcome; reportAudited: boolean }>();
    // Revocations first, all in one commit: they are what stops the leaked keys soonest.
    const fates = await revokeLeakedTogether(ctx, toRevoke, {
      actor,
      reportRow: ({ key, source }) => reportRow('revoked', key.keyHash, source, key),
    });
    for (const [keyId, fate] of fates) outcomes.set(keyId, fate);
    await atMost(LOOKUPS_AT_ONCE, toRotate, async ({ key, source }) => {
      outcomes.set(key.id, {
        outcome: await rotateLeaked(ctx, key, { source, actor, sink: options.sink as SecretSink }),
        reportAudited: false,
      });
    });
    for (const { key, source, tokenHash } of ours) {
      const fate = outcomes.get(key.id) ?? { outcome: 'already_retired', reportAudited: false };
      const { outcome } = fate;
      if (!fate.reportAudited) audit.push(reportRow(outcome, tokenHash, source, key));
      logger.warn(
        { event: 'key.leaked', clientId: key.clientId, fingerprint: key.fingerprint, source, policy, outcome },
        'keyward: a leaked key was reported',
      );
      ctx.events.emit('key.leaked', {
        at: clock.now(),
        clientId: key.clientId,
        keyId: key.id,
        fingerprint: key.fingerprint,
        source,
        policy,
        outcome: outcome as 'revoked' | 'rotated' | 'already_retired',
      });
      decided.set(tokenHash, { tokenHash, fingerprint: key.fingerprint, label: 'true_positive', outcome, clientId: key.clientId });
    }
  };

  // Likely keys of ours first (the known-keys filter's hint): they are what must stop
  // working soonest, so they are looked up and revoked while the others are still being
  // looked up. Every token is still looked up: a key issued a moment ago elsewhere may
  // not be in this process's filter yet.
  const likely: Candidate[] = [];
  const unlikely: Candidate[] = [];
  for (const c of candidates) (ctx.verifier.mayExist(c.tokenHash) ? likely : unlikely).push(c);
  const lookUp = async (list: readonly Candidate[]) => {
    const found: Found[] = [];
    if (typeof store.findKeysByHashes === 'function') {
      // Many hashes per query: a report costs a few round trips, not one per token.
      const chunks: Candidate[][] = [];
      for (let i = 0; i < list.length; i += HASHES_PER_LOOKUP) chunks.push(list.slice(i, i + HASHES_PER_LOOKUP));
      await atMost(LOOKUPS_AT_ONCE, chunks, async (chunk) => {
        const keys = await store.findKeysByHashes?.(chunk.map((c) => c.tokenHash));
        const byHash = new Map((keys ?? []).map((k) => [k.keyHash, k]));
        for (const c of chunk) found.push({ ...c, key: byHash.get(c.tokenHash) ?? null });
      });
    } else {
      await atMost(LOOKUPS_AT_ONCE, list, async (c) => void found.push({ ...c, key: await store.findKeyByHash(c.tokenHash) }));
    }
    return found;
  };
  const likelyFound = await lookUp(likely);
  const [, unlikelyFound] = await Promise.all([decideOurs(likelyFound), lookUp(unlikely)]);
  await decideOurs(unlikelyFound);
  // The bookkeeping last: the report's remaining audit rows (false positives, keys
  // already retired, rotations) in one transaction.
  if (audit.length > 0) await store.commit({ at: clock.now(), audit });
  return items.map(({ token }) => decided.get(ctx.hasher(token)) as LeakResult);
}

interface Candidate {
  readonly source: string;
  readonly tokenHash: string;
}

interface Found extends Candidate {
  readonly key: KeyRecord | null;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function atMost<T>(limit: number, items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const work = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, work));
}

/**
 * Policy `rotate` for an active key with no rotation open: its successor is issued and
 * delivered through the sink, then the leaked key is revoked at once (no grace):
 * revoking the old key of an open rotation completes it, promoting the successor.
 */
async function rotateLeaked(
  ctx: OpsContext,
  key: KeyRecord,
  options: { source: string; actor: string; sink: SecretSink },
): Promise<LeakOutcome> {
  const reason = leakReason(options.source);
  const rotation = await rotateKey(ctx, key.clientId, { keyId: key.id, actor: options.actor, reason }, 'started');
  const { sink } = options;
  await sink.deliver({
    rotationId: rotation.rotationId,
    clientId: rotation.clientId,
    keyId: rotation.newKeyId,
    key: rotation.key as string,
    fingerprint: rotation.fingerprint,
    graceUntil: ctx.config.clock.now(),
    expiresAt: rotation.expiresAt,
  });
  await markRotationDelivered(ctx, rotation.rotationId, { actor: options.actor, sink: sink.name });
  await revokeKey(ctx, key.id, { reason, actor: options.actor });
  return 'rotated';
}
