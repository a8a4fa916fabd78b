import { describe, expect, it } from 'vitest';
import { ErrorCodes } from './error-codes.js';
import { assertTransition, canTransition, refusalAt } from './lifecycle.js';
import { KEY_STATUSES, type LiveKey } from './types.js';

const base: LiveKey = {
  id: 'k',
  clientId: 'c',
  keyHash: 'h',
  fingerprint: 'f',
  status: 'active',
  scopes: [],
  expiresAt: 1000,
  graceUntil: null,
  rotationId: null,
  deprecatedAt: null,
  switchedAt: null,
  version: 1,
};

describe('transitions', () => {
  it('allows exactly the lifecycle edges', () => {
    const allowed = KEY_STATUSES.flatMap((from) => KEY_STATUSES.filter((to) => canTransition(from, to)).map((to) => `${from}->${to}`));
    expect(allowed.sort()).toEqual(['active->inactive', 'active->revoked', 'inactive->revoked', 'pending->active', 'pending->revoked']);
  });

  it('throws an error naming both states', () => {
    expect(() => assertTransition('revoked', 'active', 'ab12cd34')).toThrow('illegal transition for key ab12cd34: revoked → active');
    try {
      assertTransition('inactive', 'active');
    } catch (error) {
      expect(error).toMatchObject({ code: ErrorCodes.ILLEGAL_TRANSITION, details: { from: 'inactive', to: 'active' } });
    }
  });
});

describe('refusalAt', () => {
  it('decides from timestamps: expiry, grace end, retired states', () => {
    expect(refusalAt(base, 999)).toBeUndefined();
    expect(refusalAt(base, 1000)).toBe('expired');
    expect(refusalAt({ ...base, graceUntil: 500 }, 499)).toBeUndefined();
    expect(refusalAt({ ...base, graceUntil: 500 }, 500)).toBe('inactive');
    expect(refusalAt({ ...base, status: 'pending' }, 10)).toBeUndefined();
    expect(refusalAt({ ...base, status: 'inactive' }, 10)).toBe('inactive');
    expect(refusalAt({ ...base, status: 'revoked' }, 10)).toBe('revoked');
    expect(refusalAt({ ...base, expiresAt: null }, 1e15)).toBeUndefined();
  });
});
