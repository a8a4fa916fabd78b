import { randomBytes } from 'node:crypto';
import { base62Digit, encodeBase62Bytes, encodeBase62Int } from './base62.js';
import { crc32Ascii } from './crc32.js';

/** Random bytes per key: 256 bits of entropy. */
export const KEY_BYTES = 32;
/** base62 chars needed for 256 bits (62^43 > 2^256). */
export const BODY_LENGTH = 43;
/** base62 chars of the CRC-32 checksum (62^6 > 2^32). */
export const CHECKSUM_LENGTH = 6;
/** Longest accepted prefix: keeps the whole key well under header limits. */
export const MAX_PREFIX_LENGTH = 32;

const PREFIX = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/** Why a string is not a well-formed key. Constants, so rejecting garbage allocates nothing. */
export type KeyFormatProblem = 'not_a_string' | 'empty' | 'bad_length' | 'bad_prefix' | 'bad_alphabet' | 'bad_checksum';

export type ParsedKey = { ok: true; prefix: string; body: string; checksum: string } | { ok: false; reason: KeyFormatProblem };

export function isValidPrefix(prefix: unknown): prefix is string {
  return typeof prefix === 'string' && prefix.length <= MAX_PREFIX_LENGTH && PREFIX.test(prefix);
}

/** Total length of a key with this prefix: `<prefix>_<43-char body><6-char checksum>`. */
export function keyLength(prefix: string): number {
  return prefix.length + 1 + BODY_LENGTH + CHECKSUM_LENGTH;
}

/**
 * Generates a new plaintext key: `<prefix>_<body><checksum>`, body = 32 bytes from
 * `crypto.randomBytes` in base62, checksum = CRC-32 of the body in 6 base62 chars
 * (GitHub's token scheme: a typo or a truncated copy is caught without any I/O).
 */
export function generateKey(prefix: string): string {
  if (!isValidPrefix(prefix)) throw new RangeError(`generateKey: invalid prefix ${JSON.stringify(prefix)}`);
  const body = encodeBase62Bytes(randomBytes(KEY_BYTES), BODY_LENGTH);
  return `${prefix}_${body}${encodeBase62Int(crc32Ascii(body), CHECKSUM_LENGTH)}`;
}

/**
 * Checks shape, alphabet and checksum of `key` for an expected prefix. Returns
 * `undefined` for a well-formed key, or the problem. Never throws, never allocates:
 * this is the first step of the hot path and runs on every garbage request.
 */
export function checkKeyFormat(key: unknown, prefix: string): KeyFormatProblem | undefined {
  if (typeof key !== 'string') return 'not_a_string';
  if (key.length === 0) return 'empty';
  const bodyStart = prefix.length + 1;
  if (key.length !== bodyStart + BODY_LENGTH + CHECKSUM_LENGTH) return 'bad_length';
  if (!key.startsWith(prefix) || key.charCodeAt(prefix.length) !== 95 /* _ */) return 'bad_prefix';
  const checksumStart = bodyStart + BODY_LENGTH;
  for (let i = bodyStart; i < checksumStart; i++) {
    if (base62Digit(key.charCodeAt(i)) < 0) return 'bad_alphabet';
  }
  let expected = 0;
  for (let i = checksumStart; i < key.length; i++) {
    const digit = base62Digit(key.charCodeAt(i));
    if (digit < 0) return 'bad_alphabet';
    expected = expected * 62 + digit;
  }
  return crc32Ascii(key, bodyStart, checksumStart) === expected ? undefined : 'bad_checksum';
}

/**
 * Parses a key into prefix, body and checksum. With `prefix` given, the key must
 * carry exactly that prefix; without it, the prefix is whatever precedes the last
 * `_`. Returns a reason for any malformed input and never throws.
 */
export function parseKey(key: unknown, prefix?: string): ParsedKey {
  if (typeof key !== 'string') return { ok: false, reason: 'not_a_string' };
  if (key.length === 0) return { ok: false, reason: 'empty' };
  let expectedPrefix = prefix;
  if (expectedPrefix === undefined) {
    const cut = key.lastIndexOf('_');
    expectedPrefix = cut > 0 ? key.slice(0, cut) : '';
    if (!isValidPrefix(expectedPrefix)) {
      return { ok: false, reason: key.length > MAX_PREFIX_LENGTH + 1 + BODY_LENGTH + CHECKSUM_LENGTH ? 'bad_length' : 'bad_prefix' };
    }
  }
  const problem = checkKeyFormat(key, expectedPrefix);
  if (problem !== undefined) return { ok: false, reason: problem };
  const bodyStart = expectedPrefix.length + 1;
  return {
    ok: true,
    prefix: expectedPrefix,
    body: key.slice(bodyStart, bodyStart + BODY_LENGTH),
    checksum: key.slice(bodyStart + BODY_LENGTH),
  };
}
