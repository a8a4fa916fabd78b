import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkKeyFormat, generateKey } from '@keyward/core';
import { describe, expect, it } from 'vitest';

const DOCS = join(import.meta.dirname, '../../docs');

/** The `regex = '''…'''` of the gitleaks rule, read as gitleaks reads the TOML literal string. */
function gitleaksRegex(): RegExp {
  const text = readFileSync(join(DOCS, 'gitleaks.toml'), 'utf8');
  const match = /^regex = '''(.+)'''$/m.exec(text);
  if (!match) throw new Error('no regex in docs/gitleaks.toml');
  return new RegExp(match[1] as string, 'g');
}

/** The `key:` regex of the trufflehog detector (a single-quoted YAML scalar). */
function trufflehogRegex(): RegExp {
  const text = readFileSync(join(DOCS, 'trufflehog.yaml'), 'utf8');
  const match = /^\s+key: '(.+)'$/m.exec(text);
  if (!match) throw new Error('no regex in docs/trufflehog.yaml');
  return new RegExp((match[1] as string).replaceAll("''", "'"), 'g');
}

const found = (regex: RegExp, text: string) => [...text.matchAll(regex)].map((m) => m[1]);

describe('the published scanner rules', () => {
  for (const [name, load] of [
    ['gitleaks', gitleaksRegex],
    ['trufflehog', trufflehogRegex],
  ] as const) {
    it(`${name}: finds generated keys in code and config, and nothing else`, () => {
      const regex = load();
      const keys = Array.from({ length: 200 }, () => generateKey('sk_live'));
      for (const key of keys) {
        expect(found(regex, `const apiKey = "${key}";`)).toEqual([key]);
        expect(found(regex, `KEYWARD_KEY=${key}\n`)).toEqual([key]);
        expect(found(regex, `Authorization: Bearer ${key}`)).toEqual([key]);
      }
      const key = keys[0] as string;
      const nearMisses = [
        key.slice(0, -1), // one character short
        `${key}A`, // one too many
        key.replace('sk_live_', 'sk_test_'), // another prefix
        key.replace('sk_live_', 'sklive_'),
        `${key.slice(0, 20)}-${key.slice(21)}`, // a character outside base62
        `x${key}`, // glued to a word
      ];
      for (const text of nearMisses) expect(found(regex, text), text).toEqual([]);
    });
  }

  it('the checksum tells a real key from a look-alike the regex accepts', () => {
    const key = generateKey('sk_live');
    const flipped = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    expect(found(gitleaksRegex(), flipped)).toEqual([flipped]);
    expect(checkKeyFormat(key, 'sk_live')).toBeUndefined();
    expect(checkKeyFormat(flipped, 'sk_live')).toBe('bad_checksum');
  });
});
