import { describe, expect, it } from 'vitest';
import { isRepeated, repeatedValues } from './raw-headers.js';

describe('raw headers', () => {
  const raw = ['Host', 'a', 'AUTHORIZATION', 'Bearer 1', 'Accept', '*/*', 'authorization', 'Bearer 2', 'Cache-Control', 'x'];

  it('finds a field repeated in any case, and only that', () => {
    expect(isRepeated(raw, 'authorization')).toBe(true);
    expect(isRepeated(raw, 'accept')).toBe(false);
    expect(isRepeated(raw, 'idempotency-key')).toBe(false);
    expect(isRepeated(undefined, 'authorization')).toBe(false);
    expect(isRepeated(['Cache-Control', 'a', 'Cache-Control', 'b'], 'authorization')).toBe(false); // same length, other name
  });

  it('lists every value of a repeated field, in order; undefined for a single one', () => {
    expect(repeatedValues(raw, 'authorization')).toEqual(['Bearer 1', 'Bearer 2']);
    expect(repeatedValues(raw, 'host')).toBeUndefined();
    expect(repeatedValues(['Idempotency-Key', 'a', 'idempotency-key', 'b'], 'idempotency-key')).toEqual(['a', 'b']);
  });
});
