import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { invalidOption } from '../errors.js';

/**
 * A published head of the audit chain: the row `seq` and its `hash`, when it was
 * published and, with a signing key, an Ed25519 signature over both. Kept where the
 * database owner cannot rewrite it (log pipeline, webhook receiver, append-only file),
 * it later proves the rows up to `seq` were not cut off or re-chained.
 */
export interface AuditAnchor {
  readonly seq: number;
  readonly hash: string;
  /** ISO time of publication (part of the signed text when signed). */
  readonly at?: string;
  /** Base64 Ed25519 signature over `anchorSigningText(anchor)`. */
  readonly signature?: string;
}

const HASH = /^[0-9a-f]{64}$/;

/** The exact text an anchor's signature covers. */
export function anchorSigningText(anchor: Pick<AuditAnchor, 'seq' | 'hash' | 'at'>): string {
  return `keyward-audit-anchor/v1\n${anchor.seq}\n${anchor.hash}\n${anchor.at ?? ''}`;
}

/** Checks an anchor's shape; throws naming `option` and the value. */
export function checkAnchor(value: unknown, option: string): AuditAnchor {
  const a = value as Partial<AuditAnchor> | null;
  if (typeof a !== 'object' || a === null) throw invalidOption(option, value, 'must be an anchor { seq, hash }');
  if (!Number.isSafeInteger(a.seq) || (a.seq as number) < 1) throw invalidOption(`${option}.seq`, a.seq, 'must be an integer >= 1');
  if (typeof a.hash !== 'string' || !HASH.test(a.hash)) throw invalidOption(`${option}.hash`, a.hash, 'must be 64 lowercase hex digits');
  if (a.at !== undefined && typeof a.at !== 'string') throw invalidOption(`${option}.at`, a.at, 'must be an ISO time string');
  if (a.signature !== undefined && typeof a.signature !== 'string')
    throw invalidOption(`${option}.signature`, a.signature, 'must be a base64 string');
  return { seq: a.seq as number, hash: a.hash, at: a.at, signature: a.signature };
}

/** Parses `<seq>:<hash>` (the CLI's `--anchor`). */
export function parseAnchor(text: string, option = 'anchor'): AuditAnchor {
  const match = /^(\d+):([0-9a-f]{64})$/.exec(typeof text === 'string' ? text.trim() : '');
  if (!match) throw invalidOption(option, text, 'must be <seq>:<sha256 hex>, e.g. 1200:3f9a…');
  return checkAnchor({ seq: Number(match[1]), hash: match[2] }, option);
}

/**
 * Reads anchors from published lines: one per non-empty line, either `<seq>:<hash>`,
 * the pino line (`{"event":"audit.anchor","anchor":{...}}`), the webhook body
 * (`{"type":"keyward.alert","kind":"audit.anchor","details":{"anchor":{...}}}`) or a
 * bare anchor object. Lines that are none of these (other log lines) are skipped.
 */
export function parseAnchorLines(text: string, source = 'anchors'): AuditAnchor[] {
  const anchors: AuditAnchor[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const where = `${source}:${index + 1}`;
    if (!line.startsWith('{')) {
      anchors.push(parseAnchor(line, where));
      continue;
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw invalidOption(where, line.slice(0, 80), 'must be JSON or <seq>:<hash>');
    }
    const details = parsed.details as Record<string, unknown> | undefined;
    const candidate =
      parsed.event === 'audit.anchor'
        ? parsed.anchor
        : parsed.kind === 'audit.anchor'
          ? details?.anchor
          : 'seq' in parsed
            ? parsed
            : undefined;
    if (candidate !== undefined) anchors.push(checkAnchor(candidate, where));
  }
  return anchors;
}

/** An Ed25519 key from a KeyObject or PEM text (private for signing, public or private for checking). */
export function ed25519Key(value: unknown, kind: 'private' | 'public', option: string): KeyObject {
  let key: KeyObject;
  try {
    if (typeof value === 'string') key = kind === 'private' ? createPrivateKey(value) : createPublicKey(value);
    else if (typeof value === 'object' && value !== null && 'asymmetricKeyType' in value) key = value as KeyObject;
    else throw new Error('not a key');
  } catch {
    throw invalidOption(option, typeof value === 'string' ? '<PEM text>' : value, `must be an Ed25519 ${kind} key (KeyObject or PEM)`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw invalidOption(option, key.asymmetricKeyType, 'must be an Ed25519 key');
  if (kind === 'private' && key.type !== 'private') throw invalidOption(option, key.type, 'must be a private key');
  return key;
}

export function signAnchor(anchor: AuditAnchor, privateKey: KeyObject): AuditAnchor {
  return { ...anchor, signature: sign(null, Buffer.from(anchorSigningText(anchor)), privateKey).toString('base64') };
}

/** `true` when the anchor carries a signature that `publicKey` verifies. */
export function anchorSignatureValid(anchor: AuditAnchor, publicKey: KeyObject): boolean {
  if (anchor.signature === undefined) return false;
  return verify(null, Buffer.from(anchorSigningText(anchor)), publicKey, Buffer.from(anchor.signature, 'base64'));
}
