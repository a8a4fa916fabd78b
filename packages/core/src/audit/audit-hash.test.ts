import { hash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { auditRowHash, canonicalJson } from '../audit-chain.js';
import type { AuditEntry } from '../types.js';

// The hash every stored trail was chained with, written the first way (generic sort per
// object). The faster code must give the same text for every entry, or old trails break.
function referenceCanonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(referenceCanonical).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${referenceCanonical((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

function referenceHash(prevHash: string, seq: number, e: AuditEntry): string {
  const body = referenceCanonical({
    seq,
    at: e.at,
    type: e.type,
    clientId: e.clientId,
    keyId: e.keyId,
    fingerprint: e.fingerprint,
    rotationId: e.rotationId,
    actor: e.actor,
    reason: e.reason,
    data: e.data,
  });
  return hash('sha256', `${prevHash}\n${body}`, 'hex');
}

const samples: AuditEntry[] = [
  {
    at: 1,
    type: 'key.issued',
    clientId: 'acme',
    keyId: 'k1',
    fingerprint: 'ab12cd34',
    rotationId: null,
    actor: null,
    reason: null,
    data: {},
  },
  {
    at: 1767225600000,
    type: 'key.rotated',
    clientId: 'ünïcode "quoted" \\ \n',
    keyId: null,
    fingerprint: null,
    rotationId: 'r1',
    actor: 'ops@acme',
    reason: 'quarterly',
    data: { z: 1, a: [3, { y: null, b: undefined, a: 'x' }, undefined], nested: { k: { j: true } }, '': 0, é: 1, B: 2 },
  },
  // Stores may hand back rows with fields missing (undefined): skipped, as before.
  { at: 5, type: 't', data: { n: -0.5 } } as unknown as AuditEntry,
];

describe('auditRowHash', () => {
  it.each(samples.map((s, i) => [i, s] as const))('sample %i hashes exactly as the first implementation did', (_, entry) => {
    expect(auditRowHash('', 1, entry)).toBe(referenceHash('', 1, entry));
    expect(auditRowHash('f'.repeat(64), 123456, entry)).toBe(referenceHash('f'.repeat(64), 123456, entry));
    expect(canonicalJson(entry.data)).toBe(referenceCanonical(entry.data));
  });

  it('a known row keeps its known hash (computed by the first implementation)', () => {
    expect(auditRowHash('', 1, samples[0] as AuditEntry)).toBe('c3b6e8ed715ae78380c97216a46cbbe84f8488b361f4f5ea5b58111987681efd');
  });
});
