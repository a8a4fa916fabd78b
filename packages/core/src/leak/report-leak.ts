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
import { toLiveKey } from '../types.js';
import { checkText } from '../validate.js';

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

/**
 * A leak report (issue 15): each token that is one of our keys and still accepted is
 * revoked at once with reason `leaked` and the source (or rotated, then revoked: a leaked
 * key gets no grace). Every token is audited (`key.leak_reported`, fingerprint only),
 * including keys already retired and false positives, and raises `key.leaked` for ours.
 * Idempotent: a second report of the same key finds it revoked (`already_retired`).
 * The plaintext is hashed on entry and never stored, logged or put in an event.
 */
export async function reportLeak(ctx: OpsContext, tokens: readonly string[], options: ReportLeakOptions): Promise<LeakResult[]> {
  if (!Array.isArray(tokens))
    throw new KeywardError(ErrorCodes.INVALID_ARGUMENT, 'tokens must be an array of strings', { argument: 'tokens' });
  if (tokens.length > MAX_TOKENS) {
    throw new KeywardError(ErrorCodes.INVALID_ARGUMENT, `a report holds at most ${MAX_TOKENS} tokens; got ${tokens.length}`, {
      argument: 'tokens',
    });
  }
  if (!tokens.every((t) => typeof t === 'string')) {
    throw new KeywardError(ErrorCodes.INVALID_ARGUMENT, 'tokens must be an array of strings', { argument: 'tokens' });
  }
  const source = checkText(options?.source, 'source', true) as string;
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
  const results: LeakResult[] = [];
  // The same token twice in one report is decided once.
  const seen = new Map<string, LeakResult>();
  for (const token of tokens) {
    const tokenHash = ctx.hasher(token);
    const earlier = seen.get(tokenHash);
    if (earlier) {
      results.push(earlier);
      continue;
    }
    const result = await reportOne(ctx, token, tokenHash, { source, actor, policy, sink: options.sink });
    seen.set(tokenHash, result);
    results.push(result);
  }
  return results;
}

async function reportOne(
  ctx: OpsContext,
  token: string,
  tokenHash: string,
  options: { source: string; actor: string; policy: LeakPolicy; sink: SecretSink | undefined },
): Promise<LeakResult> {
  const { store, clock, logger } = ctx.config;
  const fingerprint = fingerprintOf(tokenHash);
  const base = { tokenHash, fingerprint };
  const record = async (outcome: LeakOutcome, key: { id: string; clientId: string } | null) => {
    const now = clock.now();
    await store.commit({
      at: now,
      audit: [
        auditFor('key.leak_reported', now, key === null ? null : { id: key.id, clientId: key.clientId, fingerprint }, {
          actor: options.actor,
          reason: options.source,
          data: { outcome, policy: options.policy, ...(key === null ? { fingerprint } : {}) },
        }),
      ],
    });
  };
  if (checkKeyFormat(token, ctx.config.prefix) !== undefined) {
    await record('malformed', null);
    return { ...base, label: 'false_positive', outcome: 'malformed', clientId: null };
  }
  const key = await store.findKeyByHash(tokenHash);
  if (key === null) {
    await record('not_ours', null);
    return { ...base, label: 'false_positive', outcome: 'not_ours', clientId: null };
  }
  const now = clock.now();
  let outcome: LeakOutcome;
  if (refusalAt(toLiveKey(key), now) !== undefined) {
    outcome = 'already_retired';
  } else if (options.policy === 'rotate' && key.status === 'active' && key.graceUntil === null) {
    // The successor first (delivered through the sink), then the leaked key goes at once:
    // revoking the old key of an open rotation completes it, promoting the successor.
    const rotation = await rotateKey(
      ctx,
      key.clientId,
      { keyId: key.id, actor: options.actor, reason: `leaked: ${options.source}` },
      'started',
    );
    const sink = options.sink as SecretSink;
    await sink.deliver({
      rotationId: rotation.rotationId,
      clientId: rotation.clientId,
      keyId: rotation.newKeyId,
      key: rotation.key as string,
      fingerprint: rotation.fingerprint,
      graceUntil: now,
      expiresAt: rotation.expiresAt,
    });
    await markRotationDelivered(ctx, rotation.rotationId, { actor: options.actor, sink: sink.name });
    await revokeKey(ctx, key.id, { reason: `leaked: ${options.source}`, actor: options.actor });
    outcome = 'rotated';
  } else {
    await revokeKey(ctx, key.id, { reason: `leaked: ${options.source}`, actor: options.actor });
    outcome = 'revoked';
  }
  await record(outcome, key);
  logger.warn(
    { event: 'key.leaked', clientId: key.clientId, fingerprint: key.fingerprint, source: options.source, policy: options.policy, outcome },
    'keyward: a leaked key was reported',
  );
  ctx.events.emit('key.leaked', {
    at: clock.now(),
    clientId: key.clientId,
    keyId: key.id,
    fingerprint: key.fingerprint,
    source: options.source,
    policy: options.policy,
    outcome,
  });
  return { ...base, label: 'true_positive', outcome, clientId: key.clientId };
}
