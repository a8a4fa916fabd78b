// `keyward audit --verify --anchor/--anchors/--anchor-key` and `--export`, through the
// built CLI on a real SQLite file; the export is checked offline by the exact script
// the root README shows ("Verify an export offline").
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createKeyward, ManualClock, Scheduler } from '@keyward/core';
import { SqliteStore } from '@keyward/sqlite';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanEnv, cli, requireBuiltCli } from './run-cli.js';

const README = resolve(import.meta.dirname, '../../README.md');

function readmeScript(): string {
  const text = readFileSync(README, 'utf8');
  const match = /<!-- verify-export:start -->\n```js\n([\s\S]*?)```\n<!-- verify-export:end -->/.exec(text);
  if (!match?.[1]) throw new Error('README: verify-export block not found');
  return match[1];
}

function node(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) =>
    execFile(process.execPath, args, { timeout: 30_000 }, (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    ),
  );
}

describe('keyward audit: anchors and export (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-cli-anchors-'));
  const db = join(dir, 'keys.db');
  const anchorFile = join(dir, 'anchors.jsonl');
  const env = cleanEnv({ KEYWARD_DATABASE_URL: db });
  const run = (...args: string[]) => cli(args, env);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicPem = join(dir, 'anchor-public.pem');
  let head = '';

  beforeAll(async () => {
    requireBuiltCli();
    writeFileSync(publicPem, publicKey.export({ type: 'spki', format: 'pem' }));
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = new SqliteStore({ path: db });
    const keyward = createKeyward({ store, clock });
    const scheduler = new Scheduler(keyward, { anchors: { file: anchorFile, signingKey: privateKey, everyRows: 1 } });
    for (const client of ['acme', 'globex', 'initech']) {
      await keyward.issue(client, { actor: 'ops', metadata: { note: 'ünïcode "quoted"', nested: { b: 1, a: [2, { z: null }] } } });
      await scheduler.tick();
    }
    await keyward.rotate('acme', { actor: 'ops', reason: 'quarterly' });
    await scheduler.tick();
    await store.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--verify --anchors with signatures holds for an untouched trail and prints the head', async () => {
    const result = await run('audit', '--verify', '--anchors', anchorFile, '--anchor-key', publicPem);
    expect(result).toMatchObject({
      code: 0,
      stderr: expect.stringMatching(/audit chain intact: 4 rows, head 4:[0-9a-f]{64}; 4 anchor\(s\) hold, signatures valid/),
    });
    head = /head (4:[0-9a-f]{64})/.exec(result.stderr)?.[1] ?? '';
    const json = JSON.parse((await run('--json', 'audit', '--anchor', head)).stdout);
    expect(json).toMatchObject({ ok: true, count: 4, anchorsChecked: 1 });
  });

  it('--export writes JSONL that the README script verifies offline, anchors included', async () => {
    const out = join(dir, 'trail.jsonl');
    expect(await run('audit', '--export', out)).toMatchObject({
      code: 0,
      stderr: expect.stringContaining(`exported 4 audit rows, head ${head}`),
    });
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(JSON.parse(lines[3] as string)).toMatchObject({ seq: 4, type: 'key.rotated', hash: head.slice(2) });
    const script = join(dir, 'verify-export.mjs');
    writeFileSync(script, readmeScript());
    expect(await node([script, out, head])).toMatchObject({ code: 0, stdout: `ok: 4 rows, head ${head}\n` });
    expect((await node([script, out, `5:${'0'.repeat(64)}`])).stderr).toMatch(/anchor 5 is past row 4: the tail was cut/);
    writeFileSync(join(dir, 'edited.jsonl'), readFileSync(out, 'utf8').replace('"quarterly"', '"routine"'));
    expect((await node([script, join(dir, 'edited.jsonl')])).stderr).toMatch(/row 4 was edited/);
    expect(await run('audit', '--export', out)).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/--export: cannot write .*EEXIST/),
    });
    expect(await run('audit', '--export', '-')).toMatchObject({ code: 0, stdout: `${readFileSync(out, 'utf8')}` });
  });

  it('doctor reports the last anchor and that an embedded file has no roles', async () => {
    const result = await cli(['doctor'], { ...env, KEYWARD_AUDIT_ANCHORS: anchorFile });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/ok\s+anchor\s+last anchor 4:[0-9a-f]{16}… at \S+ \(signed\) holds; the trail has 4 rows/);
    expect(result.stderr).toMatch(/ok\s+app role\s+embedded file/);
    expect((await run('doctor')).stderr).toMatch(/ok\s+anchor\s+no anchor file/);
  });

  it('bad flags are usage errors (exit 2) naming the flag', async () => {
    expect(await run('audit', '--anchor', '12:xyz')).toMatchObject({ code: 2, stderr: expect.stringContaining('--anchor') });
    expect(await run('audit', '--anchors', join(dir, 'missing.jsonl'))).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--anchors: cannot read .*ENOENT/),
    });
    expect(await run('audit', '--verify', '--anchor-key', publicPem)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--anchor-key needs anchors'),
    });
    expect(await run('audit', '--verify', '--export', '-')).toMatchObject({ code: 2 });
    expect(await run('audit', '--anchor', head, '--client', 'acme')).toMatchObject({ code: 2 });
  });

  it('a cut tail fails the anchor, by name, with exit 1 (last test: it deletes a row)', async () => {
    const sqlite = new Database(db);
    sqlite.exec('DROP TRIGGER audit_events_no_delete');
    sqlite.prepare('DELETE FROM audit_events WHERE seq = 4').run();
    sqlite.close();
    expect(await run('audit', '--verify')).toMatchObject({ code: 0, stderr: expect.stringContaining('intact: 3 rows') });
    const result = await run('audit', '--verify', '--anchors', anchorFile);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`anchor ${head} failed: the trail ends at row #3, before the anchored row (its tail was cut off)`);
    const forgedKey = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' });
    writeFileSync(join(dir, 'other.pem'), forgedKey);
    expect((await run('audit', '--anchors', anchorFile, '--anchor-key', join(dir, 'other.pem'))).stderr).toMatch(
      /signature is missing or does not verify/,
    );
  });
});
