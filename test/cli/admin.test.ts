import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, cli, requireBuiltCli, spawnCli, until } from './run-cli.js';

describe('keyward admin and admin-key (SQLite, the real CLI)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    requireBuiltCli();
    dir = mkdtempSync(join(tmpdir(), 'keyward-admin-cli-'));
    env = cleanEnv({ KEYWARD_DATABASE_URL: join(dir, 'keyward.db') });
    expect((await cli(['migrate'], env)).code).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('issues an admin key once on stdout; the console requires it and serves the API with it; SIGTERM stops it', async () => {
    const issued = await cli(['admin-key', 'ops'], env);
    expect(issued.code).toBe(0);
    const adminKey = issued.stdout.trim();
    expect(adminKey).toMatch(/^kwadmin_[A-Za-z0-9]{49}$/);
    expect(issued.stderr).not.toContain(adminKey);
    const reader = (await cli(['admin-key', 'auditor', '--read-only'], env)).stdout.trim();
    expect((await cli(['issue', 'acme'], env)).code).toBe(0);

    const proc = spawnCli(['--json', 'admin', '--port', '0', '--admin-keys'], env);
    try {
      await until('the console to listen', () => /"url": "http:\/\/127\.0\.0\.1:\d+\/"/.test(proc.output()));
      const url = (/"url": "(http:\/\/127\.0\.0\.1:\d+\/)"/.exec(proc.output()) as RegExpExecArray)[1] as string;
      expect((await fetch(`${url}api/v1/clients`)).status).toBe(401);
      const clients = await fetch(`${url}api/v1/clients`, { headers: { authorization: `Bearer ${adminKey}` } });
      expect(await clients.json()).toMatchObject({ clients: expect.arrayContaining([expect.objectContaining({ clientId: 'acme' })]) });
      const write = await fetch(`${url}api/v1/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${reader}`, 'content-type': 'application/json' },
        body: JSON.stringify({ clientId: 'nope' }),
      });
      expect(write.status).toBe(403);
      const page = await fetch(url, { redirect: 'manual' });
      expect(page.headers.get('location')).toBe('./login');
    } finally {
      proc.child.kill('SIGTERM');
    }
    expect(await proc.exited).toBe(0);
    expect(proc.output()).toContain('admin console stopped');
    expect(proc.output()).not.toContain(adminKey);
  });

  it('refuses a non-loopback host without admin keys, and a bad port, before listening', async () => {
    const host = await cli(['admin', '--host', '0.0.0.0', '--port', '0'], env);
    expect(host.code).toBe(2);
    expect(host.stderr).toContain('--admin-keys');
    const port = await cli(['admin', '--port', 'eighty'], env);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('--port');
  });
});
