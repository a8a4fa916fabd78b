import type { LiveKey } from '../types.js';
import type { InvalidKey, VerifyResult } from '../verify-result.js';
import type { UsageCounter } from './usage-counts.js';

/** One LRU entry: the key as last loaded, when, and its results built once. */
export interface Entry {
  readonly key: LiveKey;
  /** Set when the LRU lets go of the entry (invalidated, replaced, evicted): a connection memo must not use it. */
  dropped: boolean;
  readonly loadedAt: number;
  /** Verifier epoch at load: an entry older than the last bus reset must be re-confirmed. */
  readonly epoch: number;
  readonly valid: VerifyResult;
  refused: InvalidKey | undefined;
  lastTouch: number;
  /** A pending key's use was passed to the first-use recorder (once per entry). */
  firstUseNoted: boolean;
  /** This key's request counter for the current hour (see `UsageCounts`), once counted. */
  usageCounter?: UsageCounter;
  /** `valid` with `sunset` at the key's expiry, once it is within `sunsetBeforeExpiry` (built on first need). */
  nearExpiry?: VerifyResult;
}

/**
 * The last key one connection presented and the LRU entry it resolved to. Machine
 * clients send the same key on every request of a keep-alive connection; comparing
 * it with the last one (in constant time) skips the checksum, the SHA-256 and the
 * LRU lookup. The memo holds the plaintext only in this process's memory, as long
 * as the connection lives (its requests held it already), and it is never written
 * anywhere. It decides only while its entry is what the LRU would answer: not
 * dropped, within max age, confirmed since the last bus reset.
 */
export interface ConnectionMemo {
  /** The key's UTF-16 code units: read per request, a typed array is cheaper to walk than a string. */
  codes: Uint16Array;
  entry: Entry;
}

export function codesOf(key: string): Uint16Array {
  const codes = new Uint16Array(key.length);
  for (let i = 0; i < key.length; i++) codes[i] = key.charCodeAt(i);
  return codes;
}

/**
 * True when `source` from `offset` on is the key `expected`, compared without an
 * early exit, so the time taken does not say how much of a guess matched the key
 * the connection presented before (behind a reverse proxy, one connection carries
 * many clients). Reading `source` in place spares the adapter a slice of its
 * header. Plain JavaScript: copying the header into a buffer for a native compare
 * (TextEncoder, Buffer, crypto.timingSafeEqual) measured no faster than this loop
 * over a typed array, and needs a scratch buffer or an allocation per request.
 */
export function sameKey(expected: Uint16Array, source: string, offset: number): boolean {
  const length = expected.length;
  if (source.length - offset !== length) return false;
  let diff = 0;
  for (let i = 0; i < length; i++) diff |= expected[i]! ^ source.charCodeAt(offset + i);
  return diff === 0;
}
