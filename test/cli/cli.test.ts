import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashKey, type KeyStore } from '@keyward/core';
import { makeKeyRecord } from '@keyward/core/testing';
import { PostgresStore } from '@keyward/postgres';
import { SqliteStore } from '@keyward/sqlite';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, cli, requireBuiltCli, spawnCli, until } from './run-cli.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const KEY = /^sk_live_[0-9A-Za-z]{49}$/;

interface Target {
  env: NodeJS.ProcessEnv;
  store: KeyStore;
  /** Edits audit row `seq` as an attacker with database access would. */
  tamper(seq: number): Promise<void>;
  cleanup(): Promise<void>;
}

const targets: Record<string, () => Promise<Target>> = {
  sqlite: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-cli-'));
    const file = join(dir, 'keys.db');
    const store = new SqliteStore({ path: file });
    return {
      env: cleanEnv({ KEYWARD_DATABASE_URL: file }),
      store,
      async tamper(seq) {
        const db = new Database(file);
        db.exec('DROP TRIGGER audit_events_no_update');
        db.prepare("UPDATE audit_events SET reason = 'nothing to see' WHERE seq = ?").run(seq);
        db.close();
      },
      async cleanup() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  postgres: async () => {
    const schema = `kwcli_${randomBytes(4).toString('hex')}`;
    const store = new PostgresStore({ connectionString: PG_URL, schema });
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    return {
      env: cleanEnv({ KEYWARD_DATABASE_URL: PG_URL, KEYWARD_DATABASE_SCHEMA: schema }),
      store,
      async tamper(seq) {
        await admin.query(`ALTER TABLE "${schema}".audit_events DISABLE TRIGGER audit_events_no_update_delete`);
        await admin.query(`UPDATE "${schema}".audit_events SET reason = 'nothing to see' WHERE seq = $1`, [seq]);
      },
      async cleanup() {
        await store.close();
        await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await admin.end();
      },
    };
  },
};

beforeAll(requireBuiltCli);

describe.each(Object.keys(targets))('keyward CLI on %s', (name) => {
  let t: Target;
  const run = (...args: string[]) => cli(args, t.env);
  const keyCount = async () => (await t.store.listKeys({})).length;

  beforeAll(async () => {
    t = await (targets[name] as () => Promise<Target>)();
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('migrate creates the schema, then finds it up to date', async () => {
    const first = await run('migrate');
    expect(first).toMatchObject({ code: 0, stdout: '' });
    expect(first.stderr).toMatch(/schema migrated from version 0 to \d+|schema is up to date/);
    expect(await run('migrate')).toMatchObject({ code: 0, stderr: expect.stringMatching(/schema is up to date \(version \d+\)/) });
    expect(JSON.parse((await run('--json', 'migrate')).stdout)).toMatchObject({ applied: [] });
  });

  it('issue prints the key alone on stdout, so KEY=$(keyward issue …) works', async () => {
    const result = await run('issue', 'acme', '--scopes', 'orders:read,orders:write', '--actor', 'ops');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^sk_live_[0-9A-Za-z]{49}\n$/);
    const key = result.stdout.trim();
    const [record] = await t.store.listKeys({ clientId: 'acme' });
    expect(record).toMatchObject({ keyHash: hashKey(key), scopes: ['orders:read', 'orders:write'], status: 'active' });
    expect(result.stderr).toContain(`issued key ${record?.fingerprint} for acme`);
    expect(result.stderr).not.toContain(key);
  });

  it('issue --json gives key, fingerprint, clientId and expiresAt; --ttl never means no expiry', async () => {
    const json = JSON.parse((await run('--json', 'issue', 'globex', '--ttl', 'never')).stdout);
    expect(json).toMatchObject({
      key: expect.stringMatching(KEY),
      fingerprint: expect.stringMatching(/^[0-9a-f]{8}$/),
      clientId: 'globex',
      expiresAt: null,
    });
    const dated = JSON.parse((await run('--json', 'issue', 'initech', '--ttl', '3d')).stdout);
    expect(Date.parse(dated.expiresAt) - Date.now()).toBeGreaterThan(3 * 86_400_000 - 60_000);
  });

  it('bad input changes nothing: bad durations and scopes exit 2 with a clear message', async () => {
    const before = await keyCount();
    const ttl = await run('issue', 'acme', '--ttl', '48x');
    expect(ttl).toMatchObject({ code: 2, stdout: '' });
    expect(ttl.stderr).toContain('--ttl must be a duration like 48h, 30d or 15m; got "48x"');
    const grace = await run('rotate', 'acme', '--grace', '48x');
    expect(grace).toMatchObject({ code: 2, stdout: '' });
    expect(grace.stderr).toContain('--grace must be a duration like 48h, 30d or 15m; got "48x"');
    expect(await run('issue', 'acme', '--scopes', ',')).toMatchObject({ code: 2 });
    expect(await run('issue', '')).toMatchObject({ code: 2 });
    expect(await keyCount()).toBe(before);
    expect(await t.store.listRotations({})).toEqual([]);
  });

  it('rotate prints the new key; --json adds rotationId and graceUntil; a second rotate is refused', async () => {
    const result = await run('--json', 'rotate', 'acme', '--grace', '2h', '--reason', 'drill');
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json).toMatchObject({
      key: expect.stringMatching(KEY),
      clientId: 'acme',
      rotationId: expect.any(String),
      fingerprint: expect.any(String),
    });
    expect(Date.parse(json.graceUntil) - Date.now()).toBeGreaterThan(2 * 3_600_000 - 60_000);
    const again = await run('rotate', 'acme');
    expect(again).toMatchObject({ code: 1, stdout: '' });
    expect(again.stderr).toContain(`already has rotation ${json.rotationId} in progress`);
    const plain = await run('rotate', 'globex');
    expect(plain.stdout).toMatch(/^sk_live_[0-9A-Za-z]{49}\n$/);
    expect(plain.stderr).toMatch(/works until/);
  });

  it('names an unknown client or fingerprint (exit 1) and an ambiguous or malformed one (exit 2)', async () => {
    const unknown = await run('rotate', 'nobody');
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toContain('client nobody has no active key to rotate');
    expect(await run('revoke', 'ffff0000', '--reason', 'x')).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('no key with fingerprint ffff0000'),
    });
    expect(await run('revoke', 'xyz!', '--reason', 'x')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('4 to 8 hex characters'),
    });
    // Two keys whose fingerprints share a prefix (written straight to the store).
    const a = makeKeyRecord({ clientId: 'twin-a', keyHash: `abcd1${'0'.repeat(59)}`, fingerprint: 'abcd1000', expiresAt: null });
    const b = makeKeyRecord({ clientId: 'twin-b', keyHash: `abcd2${'0'.repeat(59)}`, fingerprint: 'abcd2000', expiresAt: null });
    await t.store.commit({ at: Date.now(), insertKeys: [a, b] });
    const ambiguous = await run('revoke', 'abcd', '--reason', 'x');
    expect(ambiguous).toMatchObject({ code: 2 });
    expect(ambiguous.stderr).toContain('fingerprint abcd matches 2 keys');
    expect((await t.store.findKeyById(a.id))?.status).toBe('active');
    expect(await run('revoke', 'abcd1', '--reason', 'offboarded')).toMatchObject({ code: 0 });
    expect((await t.store.findKeyById(a.id))?.status).toBe('revoked');
    expect((await t.store.findKeyById(b.id))?.status).toBe('active');
    expect(await run('revoke', 'abcd1', '--reason', 'again')).toMatchObject({
      code: 0,
      stderr: expect.stringContaining('key abcd1000 of twin-a is already revoked'),
    });
    expect(await run('revoke', 'abcd2')).toMatchObject({ code: 2, stderr: expect.stringContaining("required option '--reason") });
  });

  it('list shows one row per key with fingerprints and dates, never a key', async () => {
    const table = await run('list');
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^FINGERPRINT\s+CLIENT\s+STATUS\s+CREATED\s+EXPIRES\s+GRACE UNTIL\s+ROTATION\s+LAST USED$/);
    expect(rows).toHaveLength(await keyCount());
    expect(table.stdout).not.toMatch(/sk_live_/);
    const acme = JSON.parse((await run('--json', 'list', 'acme')).stdout);
    expect(acme.map((k: { status: string }) => k.status).sort()).toEqual(['active', 'pending']);
    expect(JSON.stringify(acme)).not.toMatch(/sk_live_|keyHash/);
  });

  it('tick runs one pass with a file sink and summarises it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-cli-sink-'));
    try {
      await run('issue', 'soon', '--ttl', '1d');
      const result = await run('tick', '--sink-dir', dir, '--rotate-before', '2d');
      expect(result).toMatchObject({ code: 0, stdout: '' });
      expect(result.stderr).toMatch(/rotated 1, delivered 1, finalized 0/);
      expect(readdirSync(dir)).toEqual(['soon.key']);
      expect(statSync(join(dir, 'soon.key')).mode & 0o777).toBe(0o600);
      const json = JSON.parse((await run('--json', 'tick', '--sink-dir', dir, '--rotate-before', '2d')).stdout);
      expect(json).toMatchObject({ rotated: 0, failed: 0, ok: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('scheduler runs passes until SIGTERM, then exits cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-cli-sched-'));
    try {
      await run('issue', 'later', '--ttl', '2d');
      const proc = spawnCli(['scheduler', '--cron', '* * * * * *', '--sink-dir', dir, '--rotate-before', '2d'], t.env);
      await until('a pass that rotates the due key', () => /rotated 1, delivered 1/.test(proc.output()));
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      expect(proc.output()).toContain('scheduler stopped');
      expect(readdirSync(dir)).toEqual(['later.key']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('audit prints the trail, filters it, and --verify finds a tampered row', async () => {
    const all = await run('audit');
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/key\.issued/);
    expect(all.stdout).toMatch(/key\.rotated/);
    expect(all.stdout).not.toMatch(/sk_live_/);
    const acme = JSON.parse((await run('--json', 'audit', '--client', 'acme', '--since', '1h')).stdout);
    expect(acme.length).toBeGreaterThanOrEqual(2);
    expect(acme.every((r: { clientId: string }) => r.clientId === 'acme')).toBe(true);
    expect(await run('audit', '--since', 'yesterday-ish')).toMatchObject({ code: 2 });
    expect(await run('audit', '--verify')).toMatchObject({ code: 0, stderr: expect.stringMatching(/audit chain intact: \d+ rows/) });
    await t.tamper(2);
    const broken = await run('audit', '--verify');
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('audit chain broken at row #2: the row was edited');
  });

  it('doctor checks the database, schema, Redis and clock', async () => {
    const ok = await cli(['doctor'], { ...t.env, KEYWARD_REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/ok\s+database/);
    expect(ok.stderr).toMatch(/ok\s+schema/);
    expect(ok.stderr).toMatch(/ok\s+redis/);
    expect(ok.stderr).toMatch(/ok\s+clock/);
    expect(ok.stderr).toMatch(
      /ok\s+filter\s+known-keys filter: \d+ key\(s\) in [\d.]+ MiB, built in \d+ ms; [\d.e+-]+ % of made-up keys would reach the store/,
    );
    const noRedis = await cli(['doctor'], { ...t.env, KEYWARD_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(noRedis.code).toBe(1);
    expect(noRedis.stderr).toMatch(/FAIL\s+redis/);
  });
});

describe('keyward CLI, whatever the store', () => {
  beforeAll(requireBuiltCli);

  it('says what is wrong when the database cannot be reached, without a stack or a password', async () => {
    const env = cleanEnv({});
    const down = await cli(['--database', 'postgres://admin:hunter2secret@127.0.0.1:1/test', 'issue', 'acme'], env);
    expect(down).toMatchObject({ code: 1, stdout: '' });
    expect(down.stderr).toMatch(/connection refused/);
    expect(down.stderr).not.toContain('hunter2secret');
    expect(down.stderr).not.toMatch(/\n\s+at /);
    const doctor = await cli(['--database', 'postgres://127.0.0.1:1/test', 'doctor'], env);
    expect(doctor.code).toBe(1);
    expect(doctor.stderr).toMatch(/FAIL\s+database/);
    const bad = await cli(['--database', 'mysql://127.0.0.1/x', 'list'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('KEYWARD_DATABASE_URL');
  });

  it('exits 2 on bad usage and 0 on --help', async () => {
    const env = cleanEnv({});
    expect(await cli(['frobnicate'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining("unknown command 'frobnicate'") });
    expect(await cli(['issue'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining("missing required argument 'client'") });
    expect(await cli(['--help'], env)).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: keyward') });
  });
});
