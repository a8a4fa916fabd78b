// Least privilege on PostgreSQL, on a cluster of the test's own: the owner migrates and
// grants an app role (password, scram-sha-256 over TCP by this cluster's own pg_hba);
// connected as that role, every lifecycle operation works, while UPDATE, DELETE,
// TRUNCATE and ALTER TABLE … DISABLE TRIGGER on the audit table all fail, and a wrong
// password is refused.
import { randomBytes } from 'node:crypto';
import { createKeyward, ManualClock } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, cli, requireBuiltCli } from '../cli/run-cli.js';
import { startPostgresCluster } from '../support/faults/postgres-cluster.mjs';

const HBA = [
  '# TYPE  DATABASE  USER         ADDRESS        METHOD',
  'local   all       postgres                    trust',
  'host    all       postgres     127.0.0.1/32   trust',
  'host    all       keyward_app  127.0.0.1/32   scram-sha-256',
  'host    all       keyward_cli  127.0.0.1/32   scram-sha-256',
  'host    all       all          127.0.0.1/32   reject',
  '',
].join('\n');

describe('migrate --app-role: the app cannot rewrite the audit trail (own PostgreSQL cluster)', () => {
  let cluster: Awaited<ReturnType<typeof startPostgresCluster>>;
  const password = randomBytes(18).toString('base64url');
  const schema = 'keyward';
  const appUrl = (secret: string) => `postgres://keyward_app:${encodeURIComponent(secret)}@127.0.0.1:${cluster.port}/postgres`;

  beforeAll(async () => {
    cluster = await startPostgresCluster({ hba: HBA });
    const owner = new PostgresStore({ connectionString: cluster.url, schema });
    await owner.migrate();
    expect(await owner.grantAppRole('keyward_app', { password })).toEqual({ role: 'keyward_app', created: true });
    // Idempotent: a second grant (after an upgrade) finds the role and grants again.
    expect(await owner.grantAppRole('keyward_app')).toEqual({ role: 'keyward_app', created: false });
    expect(await owner.connectionPrivileges()).toMatchObject({ user: 'postgres', owner: 'postgres', canRewriteAudit: true });
    await owner.close();
  }, 120_000);
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('every lifecycle operation works as the app role', async () => {
    const store = new PostgresStore({ connectionString: appUrl(password), schema });
    try {
      expect(await store.connectionPrivileges()).toEqual({
        user: 'keyward_app',
        owner: 'postgres',
        superuser: false,
        canRewriteAudit: false,
      });
      const clock = new ManualClock(Date.UTC(2026, 0, 1));
      const keyward = createKeyward({ store, clock });
      const issued = await keyward.issue('acme', { actor: 'app' });
      expect((await keyward.verify(issued.key)).valid).toBe(true);
      const rotation = await keyward.rotate('acme', { grace: '1h', actor: 'app' });
      const cancelled = await keyward.startRotation('globex-missing').catch((e: unknown) => e);
      expect(cancelled).toBeInstanceOf(Error); // unknown client: refused by the core, not by privileges
      clock.advance(2 * 3_600_000);
      await keyward.finalize(rotation.rotationId, { actor: 'app' });
      const other = await keyward.issue('globex');
      const started = await keyward.startRotation('globex', { actor: 'app' });
      await keyward.abort(started.rotationId, { actor: 'app', reason: 'test' });
      await keyward.revoke(other.id, { reason: 'leaked', actor: 'app' });
      clock.advance(400 * 24 * 3_600_000);
      expect((await keyward.purge({ actor: 'app' })).purged).toBeGreaterThan(0);
      expect(await store.readChanges?.({ since: 0, limit: 100 })).toMatchObject({ gap: false });
      expect(await keyward.verifyAuditChain()).toMatchObject({ ok: true });
      expect((await store.listAudit({})).length).toBeGreaterThanOrEqual(8);
      // The console's reads and the usage counts (key_usage, schema version 4) work too.
      expect((await store.listClients({ limit: 10 })).clients.map((c) => c.clientId)).toContain('acme');
      await store.addUsage([{ keyId: issued.id, hour: 0, valid: 2, grace: 0 }]);
      await store.addUsage([{ keyId: issued.id, hour: 0, valid: 1, grace: 1 }]);
      expect(await store.listUsage({ keyIds: [issued.id], since: 0 })).toEqual([{ keyId: issued.id, hour: 0, valid: 3, grace: 1 }]);
      expect(await store.trimUsage(1)).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('UPDATE, DELETE, TRUNCATE and DISABLE TRIGGER on the audit table all fail as the app role', async () => {
    const client = new pg.Client({ connectionString: appUrl(password) });
    await client.connect();
    try {
      const table = `"${schema}".audit_events`;
      const attempts: Record<string, string> = {
        UPDATE: `UPDATE ${table} SET reason = 'covered up' WHERE seq = 1`,
        DELETE: `DELETE FROM ${table} WHERE seq = 1`,
        TRUNCATE: `TRUNCATE ${table}`,
        'DISABLE TRIGGER': `ALTER TABLE ${table} DISABLE TRIGGER audit_events_no_update_delete`,
        'DROP TRIGGER': `DROP TRIGGER audit_events_no_truncate ON ${table}`,
        'DROP TABLE': `DROP TABLE ${table}`,
        'schema_migrations UPDATE': `UPDATE "${schema}".schema_migrations SET version = version`,
      };
      for (const [what, sql] of Object.entries(attempts)) {
        await expect(client.query(sql), what).rejects.toThrow(/permission denied|must be owner/);
      }
      const { rows } = await client.query(`SELECT count(*)::int AS n FROM ${table}`);
      expect(rows[0].n).toBeGreaterThan(0); // nothing was removed
    } finally {
      await client.end();
    }
  });

  it('a wrong password is refused over TCP (scram-sha-256), with a clear error', async () => {
    const store = new PostgresStore({ connectionString: appUrl(`${password}x`), schema });
    try {
      await expect(store.listKeys({})).rejects.toThrow(/password authentication failed for user "keyward_app"/);
    } finally {
      await store.close();
    }
  });

  it('refuses bad role names and granting the owner itself, naming the option', async () => {
    const owner = new PostgresStore({ connectionString: cluster.url, schema });
    try {
      await expect(owner.grantAppRole('Robert"; DROP TABLE x; --')).rejects.toThrow(
        /option "appRole" must be a lowercase PostgreSQL role name/,
      );
      await expect(owner.grantAppRole('postgres')).rejects.toThrow(/must not be the owner/);
      await expect(owner.grantAppRole('keyward_app', { password: 'short' })).rejects.toThrow(/option "password".*<hidden>/);
    } finally {
      await owner.close();
    }
  });

  it('keyward migrate --app-role creates the role from KEYWARD_APP_ROLE_PASSWORD; the app then runs as it', async () => {
    requireBuiltCli();
    const secret = randomBytes(18).toString('base64url');
    const env = cleanEnv({ KEYWARD_DATABASE_URL: cluster.url, KEYWARD_DATABASE_SCHEMA: schema, KEYWARD_APP_ROLE_PASSWORD: secret });
    const result = await cli(['migrate', '--app-role', 'keyward_cli'], env);
    expect(result).toMatchObject({ code: 0, stderr: expect.stringContaining('app role keyward_cli created') });
    expect(result.stderr + result.stdout).not.toContain(secret);
    const asApp = cleanEnv({
      KEYWARD_DATABASE_URL: `postgres://keyward_cli:${secret}@127.0.0.1:${cluster.port}/postgres`,
      KEYWARD_DATABASE_SCHEMA: schema,
    });
    expect(await cli(['issue', 'cli-client'], asApp)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^sk_/) });
    expect((await cli(['doctor'], asApp)).stderr).toMatch(
      /ok\s+app role\s+runs as keyward_cli, not the owner \(postgres\): audit rows INSERT and SELECT only/,
    );
    expect((await cli(['doctor'], env)).stderr).toMatch(
      /ok\s+app role\s+runs as postgres, a superuser: it could disable the audit triggers/,
    );
    expect(await cli(['audit', '--verify'], asApp)).toMatchObject({ code: 0 });
    expect(await cli(['migrate', '--app-role', 'Bad-Name'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('appRole') });
    expect(await cli(['--database', ':memory:', 'migrate', '--app-role', 'x'], env)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--app-role is for PostgreSQL'),
    });
  });
});
