import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink, keyFileName } from '@keyward/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyward-filesink-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = { rotationId: 'r1', keyId: 'k1', fingerprint: 'ab12cd34', graceUntil: 0, expiresAt: null };

describe('FileSink', () => {
  it('writes <dir>/<clientId>.key with the key, mode 0600, creating the directory 0700', async () => {
    const sink = new FileSink({ dir: join(dir, 'keys') });
    await sink.deliver({ ...base, clientId: 'acme', key: 'sk_live_first' });
    const path = join(dir, 'keys', 'acme.key');
    expect(sink.pathFor('acme')).toBe(path);
    expect(await readFile(path, 'utf8')).toBe('sk_live_first\n');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'keys'))).mode & 0o777).toBe(0o700);
  });

  it('replaces the file atomically (rename over it), leaving no temporary file, and tightens a looser old file', async () => {
    const sink = new FileSink({ dir });
    await writeFile(join(dir, 'acme.key'), 'old\n', { mode: 0o644 });
    await sink.deliver({ ...base, clientId: 'acme', key: 'sk_live_second' });
    expect(await readFile(join(dir, 'acme.key'), 'utf8')).toBe('sk_live_second\n');
    expect((await stat(join(dir, 'acme.key'))).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['acme.key']);
  });

  it('a reader racing many writes only ever sees a whole key', async () => {
    const sink = new FileSink({ dir });
    await sink.deliver({ ...base, clientId: 'c', key: `sk_live_${'0'.repeat(5000)}` });
    const keys = Array.from({ length: 30 }, (_, i) => `sk_live_${String(i).repeat(5000).slice(0, 5000)}`);
    const allowed = new Set([`sk_live_${'0'.repeat(5000)}\n`, ...keys.map((k) => `${k}\n`)]);
    let reads = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const text = await readFile(join(dir, 'c.key'), 'utf8');
        expect(allowed.has(text)).toBe(true);
        reads += 1;
      }
    })();
    for (const key of keys) await sink.deliver({ ...base, clientId: 'c', key });
    writing = false;
    await reader;
    expect(reads).toBeGreaterThan(0);
  });

  it('sanitises client ids injectively and never escapes the directory', async () => {
    expect(keyFileName('acme')).toBe('acme.key');
    expect(keyFileName('../../etc/passwd')).toBe('%2E%2E%2F%2E%2E%2Fetc%2Fpasswd.key');
    expect(keyFileName('a/b')).not.toBe(keyFileName('a_b'));
    expect(keyFileName('x'.repeat(200)).length).toBeLessThan(255);
    expect(keyFileName('x'.repeat(200))).not.toBe(keyFileName(`${'x'.repeat(199)}y`));
    const sink = new FileSink({ dir });
    await sink.deliver({ ...base, clientId: '../escape', key: 'sk_live_x' });
    expect(await readdir(dir)).toEqual(['%2E%2E%2Fescape.key']);
  });

  it('confirm: held when the file holds the new key, absent when it is missing or holds another, unknown when unreadable', async () => {
    const sink = new FileSink({ dir });
    await sink.deliver({ ...base, clientId: 'acme', key: 'sk_live_first' });
    const check = (clientId: string, key: string) => ({ ...base, clientId, isNewKey: (candidate: string) => candidate === key });
    expect(await sink.confirm(check('acme', 'sk_live_first'))).toBe('held');
    expect(await sink.confirm(check('acme', 'sk_live_second'))).toBe('absent');
    expect(await sink.confirm(check('nobody', 'sk_live_first'))).toBe('absent');
    await writeFile(join(dir, 'huge.key'), `${'x'.repeat(10_000)}\n`);
    expect(await sink.confirm(check('huge', 'x'.repeat(10_000)))).toBe('absent'); // no key file is that long
    await mkdir(join(dir, 'odd.key'));
    expect(await sink.confirm(check('odd', 'sk_live_first'))).toBe('unknown');
    expect(await new FileSink({ dir: join(dir, 'missing') }).confirm(check('acme', 'sk_live_first'))).toBe('absent');
  });

  it('validates options', () => {
    expect(() => new FileSink({ dir: '' })).toThrow(/FileSink\.dir/);
    expect(() => new FileSink({ dir, mode: 0o644 })).toThrow(/FileSink\.mode.*420/);
  });
});
