import { describe, expect, it } from 'vitest';
import { AUTHORIZATION, fieldName, IDEMPOTENCY_KEY, isRepeated, repeatedValues } from './raw-headers.js';

describe('raw headers', () => {
  const raw = ['Host', 'a', 'AUTHORIZATION', 'Bearer 1', 'Accept', '*/*', 'authorization', 'Bearer 2', 'Cache-Control', 'x'];

  it('finds a field repeated in any case, and only that', () => {
    expect(isRepeated(raw, AUTHORIZATION)).toBe(true);
    expect(isRepeated(raw, fieldName('accept'))).toBe(false);
    expect(isRepeated(raw, IDEMPOTENCY_KEY)).toBe(false);
    expect(isRepeated(undefined, AUTHORIZATION)).toBe(false);
    expect(isRepeated(['Cache-Control', 'a', 'Cache-Control', 'b'], AUTHORIZATION)).toBe(false); // same length, other name
    expect(isRepeated(['authoRIZATION', 'a', 'Authorization', 'b'], AUTHORIZATION)).toBe(true);
  });

  it('lists every value of a repeated field, in order; undefined for a single one', () => {
    expect(repeatedValues(raw, AUTHORIZATION)).toEqual(['Bearer 1', 'Bearer 2']);
    expect(repeatedValues(raw, fieldName('host'))).toBeUndefined();
    expect(repeatedValues(['Idempotency-Key', 'a', 'idempotency-key', 'b'], IDEMPOTENCY_KEY)).toEqual(['a', 'b']);
  });
});
