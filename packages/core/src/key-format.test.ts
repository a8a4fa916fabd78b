import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BASE62_ALPHABET } from './base62.js';
import { crc32Ascii } from './crc32.js';
import { checkKeyFormat, generateKey, isValidPrefix, keyLength, parseKey } from './key-format.js';
import { fingerprintOf, hashKey } from './key-hash.js';

describe('crc32', () => {
  it('matches the standard check value and known vectors', () => {
    expect(crc32Ascii('123456789')).toBe(0xcbf43926);
    expect(crc32Ascii('')).toBe(0);
    expect(crc32Ascii('The quick brown fox jumps over the lazy dog')).toBe(0x414fa339);
    expect(crc32Ascii('xx123456789yy', 2, 11)).toBe(0xcbf43926);
  });
});

describe('generateKey', () => {
  it('has the wire format <prefix>_<43 base62><6 base62 checksum>', () => {
    const key = generateKey('sk_live');
    expect(key).toMatch(/^sk_live_[0-9A-Za-z]{49}$/);
    expect(key).toHaveLength(keyLength('sk_live'));
    expect(parseKey(key, 'sk_live')).toMatchObject({ ok: true, prefix: 'sk_live' });
  });

  it('draws 100k unique keys', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(generateKey('sk'));
    expect(seen.size).toBe(100_000);
  });

  it('uses the whole alphabet in the body (no visible bias towards a few chars)', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 2000; i++) for (const c of generateKey('sk').slice(4, 4 + 42)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    for (const c of BASE62_ALPHABET) expect(counts.get(c)).toBeGreaterThan(800); // expected ~1355 each
  });

  it('refuses an invalid prefix', () => {
    expect(() => generateKey('SK')).toThrow(/invalid prefix/);
    expect(() => generateKey('sk_')).toThrow(/invalid prefix/);
  });
});

describe('parseKey', () => {
  it('never throws, on any input', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        const parsed = parseKey(input);
        expect(typeof parsed.ok).toBe('boolean');
        expect(typeof checkKeyFormat(input, 'sk_live') === 'string' || checkKeyFormat(input, 'sk_live') === undefined).toBe(true);
      }),
      { numRuns: 5000 },
    );
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => parseKey(s).ok === false || parseKey(s).ok === true));
  });

  it('rejects every single-character change of a valid key by its checksum or alphabet', () => {
    fc.assert(
      fc.property(fc.nat(), fc.constantFrom(...BASE62_ALPHABET), (position, replacement) => {
        const key = generateKey('sk_live');
        const at = 'sk_live_'.length + (position % 49);
        fc.pre(key[at] !== replacement);
        const changed = key.slice(0, at) + replacement + key.slice(at + 1);
        expect(parseKey(changed, 'sk_live')).toEqual({ ok: false, reason: 'bad_checksum' });
      }),
      { numRuns: 3000 },
    );
    // exhaustively for one key: every position, every other alphabet char
    const key = generateKey('sk_live');
    for (let at = 8; at < key.length; at++) {
      for (const c of BASE62_ALPHABET) {
        if (c === key[at]) continue;
        expect(checkKeyFormat(key.slice(0, at) + c + key.slice(at + 1), 'sk_live')).toBe('bad_checksum');
      }
    }
  });

  it('names what is wrong', () => {
    const key = generateKey('sk_live');
    expect(parseKey(undefined)).toEqual({ ok: false, reason: 'not_a_string' });
    expect(parseKey('')).toEqual({ ok: false, reason: 'empty' });
    expect(parseKey(key.slice(0, -1), 'sk_live')).toEqual({ ok: false, reason: 'bad_length' });
    expect(parseKey(key.replace('sk_live', 'sk_test'), 'sk_live')).toEqual({ ok: false, reason: 'bad_prefix' });
    expect(parseKey(`${key.slice(0, 10)}-${key.slice(11)}`, 'sk_live')).toEqual({ ok: false, reason: 'bad_alphabet' });
    expect(parseKey('x'.repeat(10_000))).toMatchObject({ ok: false });
    expect(parseKey(key)).toMatchObject({ ok: true, prefix: 'sk_live', body: key.slice(8, 51), checksum: key.slice(51) });
  });

  it('validates prefixes', () => {
    expect(isValidPrefix('sk_live')).toBe(true);
    expect(isValidPrefix('kw')).toBe(true);
    expect(isValidPrefix('')).toBe(false);
    expect(isValidPrefix('Sk')).toBe(false);
    expect(isValidPrefix('a'.repeat(33))).toBe(false);
    expect(isValidPrefix('sk__live')).toBe(false);
  });
});

describe('hashKey and fingerprintOf', () => {
  it('is SHA-256 hex, or HMAC-SHA256 with a pepper (known vectors)', () => {
    expect(hashKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    // RFC 4231 test case 2
    expect(hashKey('what do ya want for nothing?', 'Jefe')).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    expect(fingerprintOf(hashKey('abc'))).toBe('ba7816bf');
  });
});
