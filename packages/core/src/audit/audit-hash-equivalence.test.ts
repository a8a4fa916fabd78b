import { hash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { auditRowHash, auditScanRow, auditScanRowHash, canonicalJson } from '../audit-chain.js';
import type { AuditEntry } from '../types.js';

// The first implementation's canonical form (a generic sort per object, JSON.stringify per
// leaf). The fast paths (strings without escapes, numbers, the fixed outer order) must give
// the same text for any value, or chains written before them stop verifying.
function referenceCanonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(referenceCanonical).join(',')}]`;
  const record = value as Record<string, unknown>;
  const entries = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${referenceCanonical(record[k])}`);
  return `{${entries.join(',')}}`;
}

function referenceHash(prevHash: string, seq: number, e: AuditEntry): string {
  const { at, type, clientId, keyId, fingerprint, rotationId, actor, reason, data } = e;
  const body = referenceCanonical({ seq, at, type, clientId, keyId, fingerprint, rotationId, actor, reason, data });
  return hash('sha256', `${prevHash}\n${body}`, 'hex');
}

// Full Unicode, lone surrogates and control characters included: the escaping fast path's edges.
const text = fc.oneof(
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: fc.constantFrom('"', '\\', '\u0000', '\u001f', '\ud800', '\udfff', 'a', 'é') }),
);
const nullableText = fc.option(text, { nil: null });
const leaf = fc.oneof(text, fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined));
const data = fc.dictionary(text, fc.oneof(leaf, fc.array(leaf), fc.dictionary(text, fc.oneof(leaf, fc.array(leaf)))));
const entry = fc.record({
  at: fc.oneof(fc.integer({ min: 0 }), fc.maxSafeInteger(), fc.double()),
  type: text,
  clientId: nullableText,
  keyId: nullableText,
  fingerprint: nullableText,
  rotationId: nullableText,
  actor: nullableText,
  reason: nullableText,
  data,
});

describe('audit hash fast paths', () => {
  it('canonicalJson gives the first implementation’s text for any JSON-like value', () => {
    fc.assert(
      fc.property(fc.oneof(data, leaf, fc.array(data)), (value) => {
        expect(canonicalJson(value)).toBe(referenceCanonical(value));
      }),
      { numRuns: 2000 },
    );
  });

  it('auditRowHash and a scan row’s hash give the first implementation’s hash for any entry', () => {
    fc.assert(
      fc.property(entry, fc.integer({ min: 1 }), fc.string(), (e, seq, prev) => {
        const expected = referenceHash(prev, seq, e);
        expect(auditRowHash(prev, seq, e)).toBe(expected);
        expect(auditScanRowHash(auditScanRow({ ...e, seq, prevHash: prev, hash: expected }))).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('fields a store left out (undefined) are skipped, as before', () => {
    const partial = { at: 5, type: 't', data: { n: -0.5 } } as unknown as AuditEntry;
    expect(auditRowHash('', 1, partial)).toBe(referenceHash('', 1, partial));
    const noType = { at: 5, data: {} } as unknown as AuditEntry;
    expect(auditRowHash('p', 2, noType)).toBe(referenceHash('p', 2, noType));
    const noData = { at: 5, type: 't', clientId: null } as unknown as AuditEntry;
    const scanned = auditScanRow({ ...noData, seq: 3, prevHash: 'p', hash: '' });
    expect(auditScanRowHash(scanned)).toBe(referenceHash('p', 3, noData));
  });
});
