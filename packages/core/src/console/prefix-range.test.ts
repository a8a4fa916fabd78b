import { describe, expect, it } from 'vitest';
import { prefixUpperBound } from './prefix-range.js';

describe('prefixUpperBound', () => {
  it('increments the last code point', () => {
    expect(prefixUpperBound('abc')).toBe('abd');
    expect(prefixUpperBound('search_%')).toBe('search_&');
    expect(prefixUpperBound('a\u{D7FF}')).toBe('a\u{E000}');
    expect(prefixUpperBound('a\u{FFFF}')).toBe('a\u{10000}');
  });

  it('drops trailing U+10FFFF, and has no bound for an empty or all-maximum prefix', () => {
    expect(prefixUpperBound('a\u{10FFFF}\u{10FFFF}')).toBe('b');
    expect(prefixUpperBound('')).toBeNull();
    expect(prefixUpperBound('\u{10FFFF}')).toBeNull();
  });

  it('bounds exactly the strings that start with the prefix (code point order)', () => {
    const byCodePoint = (a: string, b: string) => {
      const x = Array.from(a, (c) => c.codePointAt(0) ?? 0);
      const y = Array.from(b, (c) => c.codePointAt(0) ?? 0);
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
      return x.length - y.length;
    };
    const prefix = 'ab';
    const bound = prefixUpperBound(prefix) as string;
    for (const s of ['a', 'ab', 'ab\u{10FFFF}z', 'abz', 'ac', 'aa\u{10FFFF}', 'b', 'ab\u{1F600}']) {
      const inRange = byCodePoint(s, prefix) >= 0 && byCodePoint(s, bound) < 0;
      expect(inRange, s).toBe(s.startsWith(prefix));
    }
  });
});
