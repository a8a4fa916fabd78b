import { createHmac, timingSafeEqual } from 'node:crypto';
import { type Duration, parseDuration } from '../duration.js';

/** The header carrying the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`. */
export const SIGNATURE_HEADER = 'X-Keyward-Signature';

/** HMAC-SHA256 hex over `${timestamp}.${body}`. */
export function signatureOf(secret: string, timestamp: number, body: string | Uint8Array): string {
  const mac = createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(body);
  return mac.digest('hex');
}

/** The header value for `body` signed at `nowMs`. */
export function signatureHeader(secret: string, body: string, nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${signatureOf(secret, t, body)}`;
}

export interface VerifyWebhookOptions {
  /** The raw request body, exactly as received (not re-serialised JSON). */
  payload: string | Uint8Array;
  /** The `X-Keyward-Signature` header value. */
  header: string | string[] | undefined | null;
  /** The shared secret; several while you rotate the secret itself. */
  secret: string | readonly string[];
  /** How far the signed timestamp may be from now (replay window). Default `5m`. */
  tolerance?: Duration;
  /** Now, in ms. Default `Date.now()`. */
  now?: number;
}

function equalHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  // timingSafeEqual throws on unequal lengths: guard first (the length of a hex MAC is not a secret).
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * For receivers: checks a keyward webhook signature in constant time, and that its
 * timestamp is within `tolerance` of now (so a captured request cannot be replayed
 * later). Returns `false` on any problem (missing, malformed, stale, wrong secret).
 */
export function verifyWebhookSignature(options: VerifyWebhookOptions): boolean {
  const header = Array.isArray(options.header) ? options.header[0] : options.header;
  if (typeof header !== 'string' || header.length > 2000) return false;
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (name === 't' && /^\d{1,15}$/.test(value)) timestamp = Number(value);
    else if (name === 'v1' && /^[0-9a-f]{64}$/.test(value)) candidates.push(value);
  }
  if (timestamp === undefined || candidates.length === 0) return false;
  const toleranceMs = parseDuration(options.tolerance ?? '5m', 'tolerance');
  const now = options.now ?? Date.now();
  if (Math.abs(now - timestamp * 1000) > toleranceMs) return false;
  const secrets = typeof options.secret === 'string' ? [options.secret] : options.secret;
  let ok = false;
  for (const secret of secrets) {
    const expected = signatureOf(secret, timestamp, options.payload);
    // Compare against every candidate without short-circuiting on the first match.
    for (const candidate of candidates) ok = equalHex(expected, candidate) || ok;
  }
  return ok;
}
