import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type KeyRecord, type RotationRecord, verifyAuditRows } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, dropSchema, randomSchema, testUrl, waitFor } from '../../packages/postgres/src/test-db.js';

// A child process loops issue/rotate/finalize/revoke/abort on many clients and is
// SIGKILLed mid-run, several times. Every lifecycle step is one transaction, so
// whatever instant the kill lands on, a fresh store must find a consistent state.
const ROUNDS = 3;
const script = fileURLToPath(new URL('./fixtures/rotate-loop.mjs', import.meta.url));

describe('SIGKILL in the middle of rotations', () => {
  const schema = randomSchema('kwcrash');
  const app = `kwcrash_${schema.slice(-12)}`;
  const url = new URL(testUrl());
  url.searchParams.set('application_name', app);

  beforeAll(async () => {
    const setup = new PostgresStore({ connectionString: testUrl(), schema });
    await setup.migrate();
    await setup.close();
  });
  afterAll(() => dropSchema(schema));

  async function openTransactions(): Promise<number> {
    const rows = await adminQuery<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND xact_start IS NOT NULL AND state <> 'idle'`,
      [app],
    );
    return rows[0]?.n ?? 0;
  }

  async function runAndKill(): Promise<{ ops: number; openAtKill: number }> {
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, DATABASE_URL: url.href, KW_SCHEMA: schema },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let ops = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /ops (\d+)\s*$/.exec(chunk.toString());
      if (match) ops = Number(match[1]);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
    try {
      await waitFor(() => ops >= 150 || child.exitCode !== null, 30_000, 'the child to get going');
      expect(stderr).toBe('');
      // Aim the kill at a moment when the child has a transaction open on the server.
      let openAtKill = 0;
      const sawOpen = async () => {
        openAtKill = await openTransactions();
        return openAtKill > 0;
      };
      await waitFor(sawOpen, 5000, 'an open transaction').catch(() => {});
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      return { ops, openAtKill };
    } finally {
      child.kill('SIGKILL');
    }
  }

  it(`leaves a consistent store after ${ROUNDS} kills`, async () => {
    const rounds = [];
    for (let i = 0; i < ROUNDS; i++) rounds.push(await runAndKill());
    expect(rounds.some((r) => r.openAtKill > 0)).toBe(true);
    // The server has rolled back the killed connections.
    await waitFor(
      async () => (await adminQuery(`SELECT 1 FROM pg_stat_activity WHERE application_name = $1`, [app])).length === 0,
      10_000,
      'backends to go',
    );

    const store = new PostgresStore({ connectionString: testUrl(), schema, migrate: false });
    try {
      const keys = await store.listKeys({});
      const rotations = await store.listRotations({});
      expect(rotations.length).toBeGreaterThan(20);
      const byId = new Map<string, KeyRecord>(keys.map((k) => [k.id, k]));
      const open = rotations.filter((r) => r.state === 'started' || r.state === 'delivered');
      const openByNewKey = new Map<string, RotationRecord>(open.map((r) => [r.newKeyId, r]));

      const pendingPerClient = new Map<string, number>();
      for (const k of keys.filter((k) => k.status === 'pending')) {
        pendingPerClient.set(k.clientId, (pendingPerClient.get(k.clientId) ?? 0) + 1);
        // Every pending key has an open rotation that references it.
        const rotation = openByNewKey.get(k.id);
        expect(rotation, `pending key ${k.fingerprint} has no open rotation`).toBeDefined();
        expect(k.rotationId).toBe(rotation?.id);
      }
      for (const count of pendingPerClient.values()) expect(count).toBe(1);

      const openPerClient = new Map<string, number>();
      for (const r of open) {
        openPerClient.set(r.clientId, (openPerClient.get(r.clientId) ?? 0) + 1);
        const oldKey = byId.get(r.oldKeyId);
        const newKey = byId.get(r.newKeyId);
        expect(oldKey, `rotation ${r.id} lost its old key`).toBeDefined();
        expect(newKey, `rotation ${r.id} lost its new key`).toBeDefined();
        expect(newKey?.status).toBe('pending');
        expect(oldKey?.status).toBe('active');
        expect(oldKey?.graceUntil).toBe(r.graceUntil);
        expect(oldKey?.rotationId).toBe(r.id);
      }
      for (const count of openPerClient.values()) expect(count).toBe(1);
      // A key in grace belongs to an open rotation (a rotation that ended cleared or retired it).
      for (const k of keys.filter((k) => k.status === 'active' && k.graceUntil !== null)) {
        expect(
          open.some((r) => r.oldKeyId === k.id),
          `active key ${k.fingerprint} in grace without an open rotation`,
        ).toBe(true);
      }
      expect(verifyAuditRows(await store.listAudit({}))).toMatchObject({ ok: true });
    } finally {
      await store.close();
    }
  });
});
