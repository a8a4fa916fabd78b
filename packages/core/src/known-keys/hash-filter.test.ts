import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { HashFilter } from './hash-filter.js';
import { HashWords } from './hash-words.js';

const randomHash = () => randomBytes(32).toString('hex');

describe('HashFilter', () => {
  it('never rules out a hash it holds, and rules out nearly every other one at the rate it expects', () => {
    const filter = new HashFilter(50_000);
    const held = Array.from({ length: 50_000 }, randomHash);
    for (const hash of held) filter.add(hash);
    expect(held.every((hash) => filter.mayContain(hash))).toBe(true);
    let falsePositives = 0;
    const trials = 200_000;
    for (let i = 0; i < trials; i++) if (filter.mayContain(randomHash())) falsePositives++;
    const expected = filter.falsePositiveRate();
    expect(expected).toBeLessThan(0.001);
    // Binomial noise at 200 k trials: the measured rate stays within a few times the expected one.
    expect(falsePositives / trials).toBeLessThan(Math.max(5 * expected, 20 / trials));
  });

  it('takes at most 8 MiB for a million keys at the default bits per key', () => {
    const filter = new HashFilter(1_500_000);
    expect(filter.bytes).toBeLessThanOrEqual(8 * 1024 * 1024);
    expect(filter.capacity).toBeGreaterThanOrEqual(1_000_000);
  });

  it('answers "maybe" for a malformed hash rather than ruling it out, and adds nothing for one', () => {
    const filter = new HashFilter(100);
    filter.add('not-hex-at-all');
    expect(filter.count).toBe(0);
    expect(filter.mayContain('zz')).toBe(true);
  });

  it('differs between processes: two filters of the same keys do not share their false positives', () => {
    const a = new HashFilter(1000, 8);
    const b = new HashFilter(1000, 8);
    for (let i = 0; i < 1000; i++) {
      const hash = randomHash();
      a.add(hash);
      b.add(hash);
    }
    let both = 0;
    let either = 0;
    for (let i = 0; i < 50_000; i++) {
      const probe = randomHash();
      const inA = a.mayContain(probe);
      const inB = b.mayContain(probe);
      if (inA && inB) both++;
      if (inA || inB) either++;
    }
    expect(either).toBeGreaterThan(0);
    expect(both).toBeLessThan(either / 2);
  });
});

describe('HashWords', () => {
  it('keeps 8 bytes a hash and fills a filter with every one of them', () => {
    const words = new HashWords();
    const hashes = Array.from({ length: 10_000 }, randomHash);
    for (const hash of hashes) words.push(hash);
    expect(words.count).toBe(10_000);
    const filter = new HashFilter(words.count);
    words.addTo(filter);
    expect(hashes.every((hash) => filter.mayContain(hash))).toBe(true);
  });
});
