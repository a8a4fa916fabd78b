import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyward, generateKey } from '@keyward/core';
import { SqliteStore } from '@keyward/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, type CliResult, cleanEnv, cli, requireBuiltCli } from './run-cli.js';

/** The CLI with `input` on stdin. */
function cliWithStdin(args: readonly string[], env: NodeJS.ProcessEnv, input: string): Promise<CliResult> {
  return new Promise((done) => {
    const child = execFile(process.execPath, [CLI, ...args], { env, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      done({ code, stdout: String(stdout), stderr: String(stderr) });
    });
    child.stdin?.end(input);
  });
}

describe('keyward leak (SQLite, the real CLI)', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const SOURCE = 'https://github.com/acme/app/blob/abc123/.env';

  beforeAll(async () => {
    requireBuiltCli();
    dir = mkdtempSync(join(tmpdir(), 'keyward-leak-'));
    env = cleanEnv({ KEYWARD_DATABASE_URL: join(dir, 'keyward.db') });
    expect((await cli(['migrate'], env)).code).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads keys from stdin only, revokes the live ones, and prints one line per key by fingerprint', async () => {
    const live = (await cli(['issue', 'acme'], env)).stdout.trim();
    const other = (await cli(['issue', 'beta'], env)).stdout.trim();
    const foreign = generateKey('sk_live');
    const result = await cliWithStdin(
      ['leak', '--source', SOURCE, '--actor', 'security'],
      env,
      `${live}\n\n${foreign}\n  ${other}  \nnot-a-key\n`,
    );
    expect(result.code).toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^[0-9a-f]{8} of acme: revoked \(true positive\)$/);
    expect(lines[1]).toMatch(/^[0-9a-f]{8}: not ours \(false positive\)$/);
    expect(lines[2]).toMatch(/^[0-9a-f]{8} of beta: revoked \(true positive\)$/);
    expect(lines[3]).toMatch(/^[0-9a-f]{8}: malformed \(false positive\)$/);
    for (const key of [live, other, foreign]) expect(result.stdout + result.stderr).not.toContain(key);
    // Reported again: already retired, nothing revoked twice.
    const again = JSON.parse((await cliWithStdin(['--json', 'leak', '--source', SOURCE], env, live)).stdout);
    expect(again).toEqual([expect.objectContaining({ label: 'true_positive', outcome: 'already_retired', clientId: 'acme' })]);
    const store = new SqliteStore({ path: join(dir, 'keyward.db'), migrate: false });
    const keyward = createKeyward({ store, changes: { interval: false } });
    expect(await keyward.verify(live)).toMatchObject({ valid: false, reason: 'revoked' });
    const rows = (await store.listAudit({})).filter((a) => a.type === 'key.leak_reported');
    expect(rows).toHaveLength(5);
    expect(JSON.stringify(await store.listAudit({}))).not.toContain(live);
    await keyward.close();
  });

  it('refuses keys in argv, an empty stdin, a bad policy, and rotate without a sink; changes nothing', async () => {
    const live = (await cli(['issue', 'gamma'], env)).stdout.trim();
    expect((await cliWithStdin(['leak', live, '--source', SOURCE], env, '')).code).toBe(2);
    expect(await cliWithStdin(['leak', '--source', SOURCE], env, '\n')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('no keys on stdin'),
    });
    expect(await cliWithStdin(['leak', '--source', SOURCE, '--policy', 'burn'], env, live)).toMatchObject({ code: 2 });
    expect(await cliWithStdin(['leak', '--source', SOURCE, '--policy', 'rotate'], env, live)).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('needs --sink-dir or --webhook'),
    });
    expect(JSON.parse((await cli(['--json', 'list', 'gamma'], env)).stdout)[0].status).toBe('active');
  });

  it('with --policy rotate --sink-dir, delivers the successor as a file and revokes the leaked key', async () => {
    const live = (await cli(['issue', 'delta'], env)).stdout.trim();
    const sinkDir = mkdtempSync(join(tmpdir(), 'keyward-leak-sink-'));
    try {
      const result = await cliWithStdin(['leak', '--source', SOURCE, '--policy', 'rotate', '--sink-dir', sinkDir], env, live);
      expect(result).toMatchObject({ code: 0, stderr: expect.stringMatching(/of delta: rotated \(true positive\)/) });
      const successor = readFileSync(join(sinkDir, 'delta.key'), 'utf8').trim();
      const keys = JSON.parse((await cli(['--json', 'list', 'delta'], env)).stdout);
      expect(keys.map((k: { status: string }) => k.status).sort()).toEqual(['active', 'revoked']);
      expect(successor).toMatch(/^sk_live_/);
    } finally {
      rmSync(sinkDir, { recursive: true, force: true });
    }
  });
});
