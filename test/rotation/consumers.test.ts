import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyward, type Keyward } from '@keyward/core';
import { PostgresStore } from '@keyward/postgres';
import { SqliteStore } from '@keyward/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, randomSchema, testUrl } from '../../packages/postgres/src/test-db.js';
import { cli, startApps, until } from '../support/faults/fleet.mjs';

type Apps = Awaited<ReturnType<typeof startApps>>;

async function get(port: number, key: string): Promise<{ status: number; sunset: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}/orders`, { headers: { authorization: `Bearer ${key}` } });
  await res.arrayBuffer();
  return { status: res.status, sunset: res.headers.get('sunset') };
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`rotations that follow their consumers, three API processes on ${kind}`, () => {
    let env: Record<string, string>;
    let admin: Keyward;
    let apps: Apps;
    const cleanups: (() => Promise<unknown>)[] = [];

    beforeAll(async () => {
      if (kind === 'postgres') {
        const schema = randomSchema('kwconsumers');
        env = { KEYWARD_DATABASE_URL: testUrl(), KEYWARD_DATABASE_SCHEMA: schema };
        cleanups.push(() => adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
      } else {
        const dir = mkdtempSync(join(tmpdir(), 'keyward-consumers-'));
        cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
        env = { KEYWARD_DATABASE_URL: join(dir, 'keyward.db') };
      }
      expect((await cli(['migrate'], env)).code).toBe(0);
      const store =
        kind === 'postgres'
          ? new PostgresStore({ connectionString: testUrl(), schema: env.KEYWARD_DATABASE_SCHEMA, migrate: false })
          : new SqliteStore({ path: env.KEYWARD_DATABASE_URL as string, migrate: false });
      // The operator's process: does not serve, does not follow the log.
      admin = createKeyward({ store, changes: { interval: false } });
      cleanups.push(() => admin.close());
      apps = await startApps(3, env);
      cleanups.push(() => apps.stop());
    });

    afterAll(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    });

    it('a consumer that switches after a fixed grace would have ended loses no request; 50 concurrent first uses in 3 processes record one switch, heard by all within 1 s', async () => {
      const old = await admin.issue('late-consumer');
      const rotation = await admin.rotate('late-consumer', { graceFrom: 'first-use', grace: '2s', maxWait: '1h' });
      // Longer than the 2 s grace would have lasted from the rotation: the old key still works everywhere.
      const until3s = Date.now() + 3000;
      let failed = 0;
      while (Date.now() < until3s) {
        for (const port of apps.ports) if ((await get(port, old.key)).status !== 200) failed++;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(failed).toBe(0);
      const before = (await get(apps.ports[0] as number, old.key)).sunset;
      expect(before).toBe(new Date(rotation.graceUntil).toUTCString());
      // The consumer switches: 50 concurrent first requests spread over the three processes.
      const switchedAt = Date.now();
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => get(apps.ports[i % 3] as number, rotation.key as string)));
      expect(answers.every((a) => a.status === 200)).toBe(true);
      // Every process hears the new deadline (the old key's Sunset moves earlier) within 1 s.
      const heard: number[] = [];
      for (const port of apps.ports) {
        await until(`process on ${port} hears the switch`, async () => (await get(port, old.key)).sunset !== before, 5000);
        heard.push(Date.now() - switchedAt);
      }
      expect(Math.max(...heard)).toBeLessThan(1500);
      const status = await admin.rotationStatus(rotation.rotationId);
      expect(status).toMatchObject({ status: 'switched', graceFrom: 'first-use' });
      expect(status?.firstUsedAt).toBeGreaterThanOrEqual(switchedAt - 50);
      const switchRows = (await admin.store.listAudit({ clientId: 'late-consumer' })).filter((a) => a.type === 'rotation.switched');
      expect(switchRows).toHaveLength(1);
      // The grace runs from the first use: the old key is refused 2 s later, the new one still works.
      await until('the old key refused by every process', async () => {
        const results = await Promise.all(apps.ports.map((port) => get(port, old.key)));
        return results.every((r) => r.status === 401);
      });
      for (const port of apps.ports) expect((await get(port, rotation.key as string)).status).toBe(200);
      const listed = JSON.parse((await cli(['--json', 'list', 'late-consumer'], env)).stdout);
      expect(listed.find((k: { keyId: string }) => k.keyId === rotation.newKeyId).rotation).toMatchObject({ status: 'switched' });
    });

    it('a rotation nobody adopts ends at max-wait', async () => {
      const old = await admin.issue('never-switches');
      await admin.rotate('never-switches', { graceFrom: 'first-use', grace: '1s', maxWait: '2s' });
      for (const port of apps.ports) expect((await get(port, old.key)).status).toBe(200);
      await until('the old key refused at max-wait', async () => (await get(apps.ports[1] as number, old.key)).status === 401, 6000);
    });

    it('unrevoke through the CLI (no Redis): every process accepts the key again within 1 s; a leaked key is refused', async () => {
      const issued = await admin.issue('mistake');
      for (const port of apps.ports) expect((await get(port, issued.key)).status).toBe(200);
      expect((await cli(['revoke', issued.fingerprint, '--reason', 'wrong client'], env)).code).toBe(0);
      await until('revoked everywhere', async () =>
        (await Promise.all(apps.ports.map((p) => get(p, issued.key)))).every((r) => r.status === 401),
      );
      const undo = await cli(['unrevoke', issued.fingerprint, '--reason', 'revoked the wrong client', '--actor', 'alice'], env);
      expect(undo).toMatchObject({ code: 0, stderr: expect.stringContaining(`unrevoked key ${issued.fingerprint} of mistake`) });
      const since = Date.now();
      await until('accepted everywhere', async () =>
        (await Promise.all(apps.ports.map((p) => get(p, issued.key)))).every((r) => r.status === 200),
      );
      expect(Date.now() - since).toBeLessThan(1500);
      const row = (await admin.store.listAudit({ clientId: 'mistake' })).find((a) => a.type === 'key.unrevoked');
      expect(row).toMatchObject({ actor: 'alice', reason: 'revoked the wrong client' });

      const leaked = await admin.issue('leaky');
      expect((await cli(['revoke', leaked.fingerprint, '--reason', 'leaked'], env)).code).toBe(0);
      const refused = await cli(['unrevoke', leaked.fingerprint, '--reason', 'oops'], env);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('revoked as exposed');
    });

    it('expiry notices go out once per key and lead time with two schedulers ticking at once', async () => {
      await admin.issue('expiring-soon', { ttl: '2d' });
      // --rotate-before 1h: not due for rotation (nor the no-sink reminder), only for notices.
      const tick = () => cli(['--json', 'tick', '--rotate-before', '1h'], env);
      const [a, b] = await Promise.all([tick(), tick()]);
      expect(a.code).toBe(0);
      expect(b.code).toBe(0);
      const [sa, sb] = [JSON.parse(a.stdout), JSON.parse(b.stdout)];
      // One notice (3d, the nearest lead time crossed) between the two; a later tick sends none.
      expect(sa.expiring + sb.expiring).toBe(1);
      expect(JSON.parse((await tick()).stdout).expiring).toBe(0);
    });
  });
}
