// The verify scan renders each row's head and tail in SQL; the core renders the same text
// in JavaScript when it chains a row. The two must agree on every string PostgreSQL can
// hold, or a trail would fail to verify on PostgreSQL alone.
import { auditScanRowHash, canonicalJson, chainAuditEntry } from '@keyward/core';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresStore } from './postgres-store.js';
import { dropSchema, randomSchema, testPool, testUrl } from './test-db.js';

// PostgreSQL text holds any well-formed Unicode but NUL (pg sends UTF-8: no lone surrogates).
const pgText = fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary-ascii' })).map((s) => s.replaceAll('\u0000', ''));
const controls = fc.string({
  unit: fc.constantFrom('"', '\\', '\b', '\f', '\n', '\r', '\t', '\u0001', '\u001f', '\u007f', '\u2028', 'é', '😀', '/'),
});

describe('PostgreSQL verify scan rendering', () => {
  const pool = testPool(2);
  const schema = randomSchema('kwscan');
  afterAll(async () => {
    await pool.end();
    await dropSchema(schema);
  });

  it('pg_catalog.to_json(text) writes every string as canonicalJson does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(pgText, controls), { minLength: 1, maxLength: 50 }), async (texts) => {
        const { rows } = await pool.query<{ j: string }>('SELECT pg_catalog.to_json(t)::text AS j FROM unnest($1::text[]) AS t', [texts]);
        expect(rows.map((r) => r.j)).toEqual(texts.map((t) => canonicalJson(t)));
      }),
      { numRuns: 100 },
    );
  });

  it('a trail chained in JavaScript verifies from the rows the scan renders', async () => {
    const store = new PostgresStore({ connectionString: testUrl(), schema });
    try {
      const entries = fc.sample(
        fc.record({
          at: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          type: fc.oneof(pgText, controls),
          clientId: fc.option(fc.oneof(pgText, controls), { nil: null }),
          keyId: fc.option(pgText, { nil: null }),
          fingerprint: fc.option(pgText, { nil: null }),
          rotationId: fc.option(controls, { nil: null }),
          actor: fc.option(controls, { nil: null }),
          reason: fc.option(pgText, { nil: null }),
          data: fc.dictionary(pgText, fc.oneof(pgText, fc.integer(), fc.boolean(), fc.constant(null))),
        }),
        200,
      );
      await store.commit({ at: 0, audit: entries });
      const rows = await store.scanAuditForVerify(0, 1000);
      expect(rows).toHaveLength(200);
      expect(rows.filter((r) => auditScanRowHash(r) !== r[5]).map((r) => r[0])).toEqual([]);
      // And the hash the scan checks against is the one JavaScript chained.
      let previous = null;
      for (const [i, e] of entries.entries()) {
        previous = chainAuditEntry(previous, e);
        expect(rows[i]?.[5]).toBe(previous.hash);
      }
    } finally {
      await store.close();
    }
  });
});
