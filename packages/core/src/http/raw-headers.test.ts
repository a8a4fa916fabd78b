import { describe, expect, it } from 'vitest';
import { AUTHORIZATION, credentialHeaders, fieldName, IDEMPOTENCY_KEY, isRepeated, repeatedValues } from './raw-headers.js';

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

describe('credentialHeaders', () => {
  it('reads the credential fields as Node’s headers would show them, and nothing else', () => {
    const raw = [
      'Host',
      'x',
      'Authorization',
      'Bearer a',
      'X-Api-Key',
      'k1',
      'authorization',
      'Bearer b',
      'x-api-key',
      'k2',
      'Accept',
      '*/*',
    ];
    expect(credentialHeaders(raw, true, fieldName('x-api-key'))).toEqual({ authorization: 'Bearer a', 'x-api-key': 'k1, k2' });
    expect(credentialHeaders(raw, false, fieldName('x-api-key'))).toEqual({ 'x-api-key': 'k1, k2' });
    expect(credentialHeaders(raw, true, undefined)).toEqual({ authorization: 'Bearer a' });
    expect(credentialHeaders(['AUTHORIZATION', 'Bearer c'], true, undefined)).toEqual({ authorization: 'Bearer c' });
    expect(credentialHeaders([], true, fieldName('x-api-key'))).toEqual({});
  });
});
