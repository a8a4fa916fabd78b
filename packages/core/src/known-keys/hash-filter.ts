import { randomBytes } from 'node:crypto';

/**
 * Bits per key the filter is sized for by default (then rounded up to a power of two):
 * ~11 probes and a false-positive rate near 0.05 % at capacity, far less below it.
 */
export const DEFAULT_BITS_PER_KEY = 16;

/** The two 32-bit words of a key hash the probes come from (its first 16 hex digits); NaN for a malformed hash. */
export function hashWords(keyHash: string): [number, number] {
  return [Number.parseInt(keyHash.slice(0, 8), 16), Number.parseInt(keyHash.slice(8, 16), 16)];
}

/**
 * A Bloom filter over key hashes (64 lowercase hex characters, SHA-256 or
 * HMAC-SHA256): "certainly absent" or "maybe present". The hashes are already
 * uniform, so the probe positions come from their first 16 hex digits (double
 * hashing), mixed with a per-process random seed so that two processes' filters
 * do not share their false positives. Nobody outside the process knows which bits
 * are set (they come from secret key hashes), so a false positive cannot be
 * ground offline.
 *
 * Adds only: a deleted key stays "maybe" (it costs one lookup, as today) until the
 * owner rebuilds the filter (`KnownKeys` does after enough deletions).
 */
export class HashFilter {
  private readonly bits: Uint32Array;
  private readonly mask: number;
  readonly probes: number;
  private readonly seedA: number;
  private readonly seedB: number;
  /** Hashes added (with repeats: an add cannot tell). */
  private added = 0;

  /** A filter sized for `capacity` keys at `bitsPerKey` (the bit count is rounded up to a power of two). */
  constructor(capacity: number, bitsPerKey: number = DEFAULT_BITS_PER_KEY) {
    const wanted = Math.max(1024, Math.ceil(Math.max(1, capacity) * bitsPerKey));
    const size = 2 ** Math.ceil(Math.log2(wanted));
    this.bits = new Uint32Array(size / 32);
    this.mask = size - 1;
    this.probes = Math.max(1, Math.min(24, Math.round((size / Math.max(1, capacity)) * Math.LN2)));
    const seed = randomBytes(8);
    this.seedA = seed.readUInt32LE(0);
    this.seedB = seed.readUInt32LE(4);
  }

  add(keyHash: string): void {
    const [a, b] = hashWords(keyHash);
    if (!Number.isNaN(a) && !Number.isNaN(b)) this.addWords(a, b);
  }

  /** Adds a hash by its two words (`hashWords`): how a build keeps a page of hashes in 8 bytes each. */
  addWords(a: number, b: number): void {
    let h1 = (a ^ this.seedA) >>> 0;
    const h2 = ((b ^ this.seedB) | 1) >>> 0;
    for (let i = 0; i < this.probes; i++) {
      const bit = h1 & this.mask;
      this.bits[bit >>> 5] = (this.bits[bit >>> 5] as number) | (1 << (bit & 31));
      h1 = (h1 + h2) >>> 0;
    }
    this.added++;
  }

  /** `false`: no key with this hash was ever added. `true`: maybe (or a malformed hash). */
  mayContain(keyHash: string): boolean {
    return this.mayContainWords(Number.parseInt(keyHash.slice(0, 8), 16), Number.parseInt(keyHash.slice(8, 16), 16));
  }

  /** `mayContain` by the hash's two words (`hashWords`). */
  mayContainWords(a: number, b: number): boolean {
    if (Number.isNaN(a) || Number.isNaN(b)) return true;
    let h1 = (a ^ this.seedA) >>> 0;
    const h2 = ((b ^ this.seedB) | 1) >>> 0;
    for (let i = 0; i < this.probes; i++) {
      const bit = h1 & this.mask;
      if (((this.bits[bit >>> 5] as number) & (1 << (bit & 31))) === 0) return false;
      h1 = (h1 + h2) >>> 0;
    }
    return true;
  }

  get count(): number {
    return this.added;
  }

  get bytes(): number {
    return this.bits.byteLength;
  }

  /** Keys this filter was sized for (beyond it the false-positive rate climbs). */
  get capacity(): number {
    return Math.floor(((this.mask + 1) * Math.LN2) / this.probes);
  }

  /** The expected false-positive rate at the current count: (1 - e^(-k·n/m))^k. */
  falsePositiveRate(): number {
    const m = this.mask + 1;
    return (1 - Math.exp((-this.probes * this.added) / m)) ** this.probes;
  }
}
