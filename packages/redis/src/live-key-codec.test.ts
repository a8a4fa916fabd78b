import { describe, expect, it } from 'vitest';
import { decodeLiveKey, encodeLiveKey } from './live-key-codec.js';
import { liveKey } from './testing/live-keys.js';

const T = Date.UTC(2026, 0, 1);

/** An entry as a keyward before `deprecatedAt` wrote it: the same JSON without that field. */
function olderEntry(data: string): string {
  const o = JSON.parse(data) as Record<string, unknown>;
  delete o.deprecatedAt;
  return JSON.stringify(o);
}

describe('live key codec', () => {
  it('round-trips deprecatedAt, with the version last (the set script checks that suffix)', () => {
    const key = { ...liveKey({ graceUntil: T + 1000, rotationId: 'rot-1' }), deprecatedAt: T };
    const data = encodeLiveKey(key);
    expect(data.endsWith(`,"version":${key.version}}`)).toBe(true);
    expect(decodeLiveKey(key.keyHash, String(key.version), data)).toEqual({ key });
  });

  it('reads an entry written without deprecatedAt: a key out of grace as is, a key in grace as outdated (a miss)', () => {
    const plain = liveKey();
    expect(decodeLiveKey(plain.keyHash, '1', olderEntry(encodeLiveKey(plain)))).toEqual({ key: { ...plain, deprecatedAt: null } });
    const inGrace = { ...liveKey({ graceUntil: T + 1000, rotationId: 'rot-1' }), deprecatedAt: T };
    expect(decodeLiveKey(inGrace.keyHash, '1', olderEntry(encodeLiveKey(inGrace)))).toEqual({ outdated: true });
  });

  it('refuses a deprecatedAt that is not a time, and freezes the scopes', () => {
    const key = liveKey({ graceUntil: T + 1000, rotationId: 'rot-1' });
    const bad = encodeLiveKey(key).replace('"deprecatedAt":null', '"deprecatedAt":"soon"');
    expect(decodeLiveKey(key.keyHash, '1', bad)).toEqual({ problem: 'bad deprecatedAt' });
    const decoded = decodeLiveKey(key.keyHash, '1', encodeLiveKey(key));
    expect('key' in decoded && Object.isFrozen(decoded.key.scopes)).toBe(true);
  });
});
