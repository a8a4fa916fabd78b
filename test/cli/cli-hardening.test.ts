import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyStore } from '@keyward/core';
import { makeKeyRecord } from '@keyward/core/testing';
import { PostgresStore } from '@keyward/postgres';
import { SqliteStore } from '@keyward/sqlite';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, cli, requireBuiltCli } from './run-cli.js';

/**
 * What a hostile first run of the CLI found (issue 22, items 5-7 and 9-12), each
 * checked on both stores with the built CLI as a subprocess.
 */
const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const ISO_SECOND = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/;
const admin = new pg.Client({ connectionString: PG_URL });

interface Target {
  env: NodeJS.ProcessEnv;
  store: KeyStore;
  /** A second, fresh database (not migrated) of the same kind, for the typo and newer-schema cases. */
  fresh(): { env: NodeJS.ProcessEnv; exists(): Promise<boolean>; setVersion(v: number): Promise<void> };
  cleanup(): Promise<void>;
}

const dir = mkdtempSync(join(tmpdir(), 'keyward-cli-hard-'));
const schemas: string[] = [];

const targets: Record<string, () => Promise<Target>> = {
  sqlite: async () => {
    const file = join(dir, 'keys.db');
    const store = new SqliteStore({ path: file });
    return {
      env: cleanEnv({ KEYWARD_DATABASE_URL: file }),
      store,
      fresh() {
        const other = join(dir, `typo-${randomBytes(3).toString('hex')}.db`);
        return {
          env: cleanEnv({ KEYWARD_DATABASE_URL: other }),
          exists: async () => existsSync(other),
          async setVersion(v) {
            const db = new Database(other);
            db.prepare('INSERT INTO keyward_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(v, 'from the future', Date.now());
            db.close();
          },
        };
      },
      cleanup: () => store.close(),
    };
  },
  postgres: async () => {
    const schema = `kwhard_${randomBytes(4).toString('hex')}`;
    schemas.push(schema);
    const store = new PostgresStore({ connectionString: PG_URL, schema });
    return {
      env: cleanEnv({ KEYWARD_DATABASE_URL: PG_URL, KEYWARD_DATABASE_SCHEMA: schema }),
      store,
      fresh() {
        const other = `kwtypo_${randomBytes(4).toString('hex')}`;
        schemas.push(other);
        return {
          env: cleanEnv({ KEYWARD_DATABASE_URL: PG_URL, KEYWARD_DATABASE_SCHEMA: other }),
          exists: async () => (await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [other])).rowCount === 1,
          async setVersion(v) {
            await admin.query(`INSERT INTO "${other}".schema_migrations (version, name) VALUES ($1, 'from the future')`, [v]);
          },
        };
      },
      cleanup: () => store.close(),
    };
  },
};

beforeAll(async () => {
  requireBuiltCli();
  await admin.connect();
});
afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
});

describe.each(Object.keys(targets))('keyward CLI on %s, hardened', (name) => {
  let t: Target;
  const run = (...args: string[]) => cli(args, t.env);
  const counts = async () => ({
    keys: (await t.store.listKeys({})).length,
    rotations: (await t.store.listRotations({})).length,
    audit: (await t.store.listAudit({})).length,
  });

  beforeAll(async () => {
    t = await (targets[name] as () => Promise<Target>)();
    expect((await run('migrate')).code).toBe(0);
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('5: a duration past the maximum exits 2 and writes nothing (issue --ttl, rotate --grace)', async () => {
    expect((await run('issue', 'dur', '--ttl', '30d')).code).toBe(0);
    const before = await counts();
    const ttl = await run('issue', 'x', '--ttl', '99999999d');
    expect(ttl).toMatchObject({ code: 2, stdout: '' });
    expect(ttl.stderr).toContain('--ttl must be at most 36500d (about 100 years); got "99999999d"');
    const grace = await run('rotate', 'dur', '--grace', '99999999d');
    expect(grace).toMatchObject({ code: 2, stdout: '' });
    expect(grace.stderr).toContain('--grace must be at most 36500d');
    expect(await counts()).toEqual(before);
    expect((await run('list', 'dur')).code).toBe(0);
  });

  it('6: a grace longer than the new key lives is refused (exit 2, nothing written); --ttl makes room', async () => {
    const before = await counts();
    const refused = await run('rotate', 'dur', '--grace', '60d');
    expect(refused).toMatchObject({ code: 2, stdout: '' });
    expect(refused.stderr).toContain('--grace 60d must end before the new key expires (it lives 30d)');
    expect(refused.stderr).toContain('use a shorter --grace or a longer --ttl');
    expect(await counts()).toEqual(before);
    const ok = await run('--json', 'rotate', 'dur', '--grace', '60d', '--ttl', '90d');
    expect(ok.code).toBe(0);
    const json = JSON.parse(ok.stdout);
    expect(Date.parse(json.graceUntil)).toBeLessThan(Date.parse(json.expiresAt));
  });

  it('5: list and doctor survive a row holding a time no date can (written before the cap): they report it', async () => {
    const bad = makeKeyRecord({ clientId: 'badrow', expiresAt: 8.7e15, createdAt: Date.now() });
    await t.store.commit({ at: Date.now(), insertKeys: [bad] });
    const list = await run('list', 'badrow');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('invalid (8700000000000000)');
    expect(list.stderr).toContain(`warning: key ${bad.fingerprint} of badrow holds a time no date can: expiresAt 8700000000000000`);
    expect((await run('list')).code).toBe(0);
    expect(JSON.parse((await run('--json', 'list', 'badrow')).stdout)[0].expiresAt).toBe('invalid (8700000000000000)');
    const doctor = await run('doctor');
    expect(doctor.code).toBe(1);
    expect(doctor.stderr).toMatch(
      new RegExp(`FAIL\\s+data\\s+1 row\\(s\\) hold a time no date can hold: key ${bad.fingerprint} of badrow`),
    );
    await t.store.commit({ at: Date.now(), deleteKeys: [{ id: bad.id, expectedVersion: 1 }] });
  });

  it('7: a mistyped database is never created: list, audit --verify, doctor and issue fail with exit 1', async () => {
    const typo = t.fresh();
    for (const args of [['list'], ['audit', '--verify'], ['doctor'], ['issue', 'acme'], ['tick'], ['scheduler']]) {
      const result = await cli(args, typo.env);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toMatch(/no keyward database at .*; run keyward migrate/);
      expect(result.stderr).not.toContain('intact');
    }
    expect(await typo.exists()).toBe(false);
    const empty = await cli(['list'], { ...t.env, KEYWARD_DATABASE_URL: '' });
    expect(empty).toMatchObject({ code: 2, stderr: expect.stringContaining('KEYWARD_DATABASE_URL is set but empty') });
    expect((await cli(['migrate'], typo.env)).code).toBe(0);
    expect(await typo.exists()).toBe(true);
    expect((await cli(['audit', '--verify'], typo.env)).stderr).toContain('audit chain intact: 0 rows');
  });

  it('10: doctor on a newer schema says the database is newer than this keyward (not "run migrate")', async () => {
    const newer = t.fresh();
    expect((await cli(['migrate'], newer.env)).code).toBe(0);
    await newer.setVersion(99);
    const doctor = await cli(['doctor'], newer.env);
    expect(doctor.code).toBe(1);
    expect(doctor.stderr).toMatch(/FAIL\s+schema\s+the database is newer than this keyward: schema version 99/);
    expect(doctor.stderr).toContain('Upgrade keyward; do not run migrate');
    expect(doctor.stderr).not.toContain('Run: keyward migrate');
  });

  it('10: doctor says which Redis address failed and why', async () => {
    const doctor = await cli(['doctor'], { ...t.env, KEYWARD_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(doctor.code).toBe(1);
    expect(doctor.stderr).toMatch(/FAIL\s+redis\s+redis:\/\/127\.0\.0\.1:1\/? failed: connect ECONNREFUSED 127\.0\.0\.1:1/);
    expect(doctor.stderr).not.toContain('Connection is closed');
  });

  it('10: tick prints each failure (step, client, key, cause) and each orphan it found', async () => {
    expect((await run('issue', 'undeliverable', '--ttl', '1d')).code).toBe(0);
    const stray = makeKeyRecord({ clientId: 'stray', status: 'pending', expiresAt: null });
    await t.store.commit({ at: Date.now(), insertKeys: [stray] });
    const notADir = join(dir, `file-${name}`);
    writeFileSync(notADir, 'x');
    const tick = await run('tick', '--sink-dir', join(notADir, 'keys'), '--rotate-before', '2d');
    expect(tick.code).toBe(1);
    expect(tick.stderr).toMatch(/failed: deliver via file: client undeliverable, key [0-9a-f]{8}, rotation [0-9a-f-]{36}: .*ENOTDIR/);
    expect(tick.stderr).toContain(`orphan: pending_without_rotation: client stray, key ${stray.fingerprint}`);
    // The file sink's own sweep (prepare) fails on the same path, so the pass says it did not complete.
    expect(tick.stderr).toMatch(
      /(operation\(s\) failed in this pass|the pass did not complete every step) \((the failed steps are )?listed above\)/,
    );
    expect(tick.stderr).not.toMatch(/sk_live_/);
    const json = JSON.parse((await run('--json', 'tick', '--rotate-before', '2d')).stdout);
    expect(json.problems).toContain(`orphan: pending_without_rotation: client stray, key ${stray.fingerprint}`);
    await run('revoke', stray.id, '--reason', 'test done');
  });

  it('9: after a grace ends, list, --json and the API show the effective status before any tick', async () => {
    expect((await run('issue', 'stale')).code).toBe(0);
    const rotated = JSON.parse((await run('--json', 'rotate', 'stale', '--grace', '1s')).stdout);
    await new Promise((r) => setTimeout(r, 1200));
    const json = JSON.parse((await run('--json', 'list', 'stale')).stdout) as {
      fingerprint: string;
      status: string;
      storedStatus: string;
    }[];
    expect(json.find((k) => k.fingerprint === rotated.oldFingerprint)).toMatchObject({ status: 'inactive', storedStatus: 'active' });
    expect(json.find((k) => k.fingerprint === rotated.fingerprint)).toMatchObject({ status: 'active', storedStatus: 'pending' });
    const table = await run('list', 'stale');
    expect(table.stdout).toMatch(new RegExp(`${rotated.oldFingerprint}\\s+stale\\s+inactive\\*`));
    expect(table.stdout).toMatch(new RegExp(`${rotated.fingerprint}\\s+stale\\s+active\\*`));
    expect(table.stderr).toContain('* effective status');
  });

  it('11: abort cancels the rotation (old key stays active, new one revoked); the in-progress error says how', async () => {
    expect((await run('issue', 'abortme')).code).toBe(0);
    const rotated = JSON.parse((await run('--json', 'rotate', 'abortme')).stdout);
    const again = await run('rotate', 'abortme');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('cancel it with: keyward abort abortme');
    const abort = await run('abort', 'abortme', '--reason', 'wrong client');
    expect(abort).toMatchObject({ code: 0, stdout: '' });
    expect(abort.stderr).toContain(`aborted rotation ${rotated.rotationId} of abortme: old key ${rotated.oldFingerprint} stays active`);
    const keys = JSON.parse((await run('--json', 'list', 'abortme')).stdout) as { fingerprint: string; status: string }[];
    expect(keys.map((k) => [k.fingerprint, k.status]).sort()).toEqual(
      [
        [rotated.oldFingerprint, 'active'],
        [rotated.fingerprint, 'revoked'],
      ].sort(),
    );
    expect(await run('abort', 'abortme')).toMatchObject({ code: 1, stderr: expect.stringContaining('no rotation in progress') });
  });

  it('11: CLI words: --key named, already revoked exits 0, list nosuch exits 1, --actor "" refused, expires never, --version, times to the second', async () => {
    await run('issue', 'twokeys');
    await run('issue', 'twokeys');
    const ambiguous = await run('rotate', 'twokeys');
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('say which one with --key <fingerprint>');
    expect(ambiguous.stderr).not.toContain('(keyId)');
    const [first] = JSON.parse((await run('--json', 'list', 'twokeys')).stdout);
    expect((await run('rotate', 'twokeys', '--key', first.fingerprint)).code).toBe(0);

    expect((await run('revoke', first.fingerprint, '--reason', 'leaked')).code).toBe(0);
    const twice = await run('revoke', first.fingerprint, '--reason', 'leaked');
    expect(twice).toMatchObject({ code: 0, stderr: expect.stringContaining(`key ${first.fingerprint} of twokeys is already revoked`) });
    expect(twice.stderr).not.toContain('illegal transition');

    expect(await run('list', 'nosuch')).toMatchObject({ code: 1, stderr: expect.stringContaining('client nosuch has no keys') });
    const before = await counts();
    expect(await run('issue', 'actorless', '--actor', '')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--actor must not be empty'),
    });
    expect(await run('revoke', first.fingerprint, '--reason', 'x', '--actor', ' ')).toMatchObject({ code: 2 });
    expect(await counts()).toEqual(before);

    const never = await run('issue', 'forever', '--ttl', 'never');
    expect(never.stderr).toContain('expires never.');
    const dated = await run('issue', 'dated', '--ttl', '1d');
    expect(dated.stderr).toMatch(new RegExp(`expires ${ISO_SECOND.source}\\.`));
    const list = await run('list', 'dated');
    expect(list.stdout).toMatch(new RegExp(`dated\\s+active\\s+${ISO_SECOND.source}\\s+${ISO_SECOND.source}`));
    expect((await run('audit', '--client', 'dated')).stdout).toMatch(ISO_SECOND);
    expect((await run('--version')).stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('12: colliding fingerprints: a longer hash prefix, the key id or --client names one key; logs keep 8 characters', async () => {
    const a = makeKeyRecord({ clientId: 'twin-a', keyHash: `abcd1234a${'0'.repeat(55)}`, expiresAt: null });
    const b = makeKeyRecord({ clientId: 'twin-b', keyHash: `abcd1234b${'0'.repeat(55)}`, expiresAt: null });
    const c = makeKeyRecord({ clientId: 'twin-b', keyHash: `abcd1234c${'0'.repeat(55)}`, expiresAt: null });
    await t.store.commit({ at: Date.now(), insertKeys: [a, b, c] });
    const ambiguous = await run('revoke', 'abcd1234', '--reason', 'x');
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('fingerprint abcd1234 matches 3 keys');
    expect(ambiguous.stderr).toContain(`(key id ${a.id})`);
    expect(ambiguous.stderr).toContain('give more of the hash');
    expect(ambiguous.stderr).toContain('--client <id>');
    expect(await counts()).toMatchObject({ keys: (await t.store.listKeys({})).length });

    const byPrefix = await run('revoke', 'abcd1234a', '--reason', 'leaked');
    expect(byPrefix).toMatchObject({ code: 0, stderr: expect.stringContaining('revoked key abcd1234 of twin-a') });
    expect((await t.store.findKeyById(a.id))?.status).toBe('revoked');
    expect((await run('revoke', 'abcd1234', '--client', 'twin-b', '--reason', 'x')).code).toBe(2); // still two of twin-b
    expect((await run('revoke', b.id, '--reason', 'offboarded')).code).toBe(0);
    expect((await run('revoke', 'ABCD1234C', '--client', 'twin-b', '--reason', 'offboarded')).code).toBe(0);
    expect((await t.store.findKeyById(b.id))?.status).toBe('revoked');
    expect((await t.store.findKeyById(c.id))?.status).toBe('revoked');
    const audit = await run('audit', '--client', 'twin-a');
    expect(audit.stdout).toMatch(/key\.revoked\s+twin-a\s+abcd1234\s/);

    // rotate --key takes the same names, within the client
    const d = makeKeyRecord({ clientId: 'twin-c', keyHash: `beef5678d${'0'.repeat(55)}`, expiresAt: null });
    const e = makeKeyRecord({ clientId: 'twin-c', keyHash: `beef5678e${'0'.repeat(55)}`, expiresAt: null });
    await t.store.commit({ at: Date.now(), insertKeys: [d, e] });
    expect((await run('rotate', 'twin-c', '--key', 'beef5678')).code).toBe(2);
    const rotated = JSON.parse((await run('--json', 'rotate', 'twin-c', '--key', 'beef5678e', '--ttl', 'never')).stdout);
    expect(rotated.oldFingerprint).toBe('beef5678');
    expect((await t.store.findKeyById(e.id))?.rotationId).toBe(rotated.rotationId);
  });
});

describe('keyward CLI, whatever the store, hardened', () => {
  it('7: a missing SQLite file is not created by any command but migrate', async () => {
    const home = mkdtempSync(join(dir, 'cwd-'));
    for (const args of [['list'], ['doctor'], ['audit', '--verify']]) {
      const result = await cli(args, cleanEnv({}), home);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toContain('no keyward database at "./keyward.db"; run keyward migrate');
    }
    expect(readdirSync(home)).toEqual([]);
    const typo = await cli(['--database', 'typo.db', 'list'], cleanEnv({}), home);
    expect(typo).toMatchObject({ code: 1, stderr: expect.stringContaining('no keyward database at "typo.db"') });
    expect(readdirSync(home)).toEqual([]);
  });
});
