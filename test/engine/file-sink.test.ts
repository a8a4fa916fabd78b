import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createKeyward, FileSink, keyFileName, Scheduler } from '@keyward/core';
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
    expect(() => new FileSink({ dir, staleTempAfter: 'soon' })).toThrow(/FileSink\.staleTempAfter/);
  });

  describe('temporary files a crash left behind (each holds a plaintext key)', () => {
    /** A leftover exactly as a delivery killed after its write leaves it: `.<uuid>.tmp`, mode 0600, `ageMs` old. */
    async function leftover(ageMs: number): Promise<string> {
      const name = `.${randomUUID()}.tmp`;
      await writeFile(join(dir, name), 'sk_live_leftover\n', { mode: 0o600 });
      const at = new Date(Date.now() - ageMs);
      await utimes(join(dir, name), at, at);
      return name;
    }

    it('are removed on the first delivery (start-up); a young one, maybe another process in flight, stays', async () => {
      const stale = await leftover(5 * 60_000);
      const young = await leftover(0);
      await writeFile(join(dir, 'notes.tmp'), 'not ours');
      await new FileSink({ dir }).deliver({ ...base, clientId: 'acme', key: 'sk_live_new' });
      const names = await readdir(dir);
      expect(names).not.toContain(stale);
      expect(names).toContain(young);
      expect(names.sort()).toEqual(['acme.key', 'notes.tmp', young].sort());
    });

    it('are removed at the start of every scheduler pass, with or without a delivery', async () => {
      const sink = new FileSink({ dir, staleTempAfter: '10s' });
      const keyward = createKeyward();
      const scheduler = new Scheduler(keyward, { sink });
      try {
        const first = await leftover(60_000);
        await scheduler.tick();
        expect(await readdir(dir)).not.toContain(first);
        const second = await leftover(60_000);
        await scheduler.tick();
        expect(await readdir(dir)).toEqual([]);
        expect(second).toMatch(/^\.[0-9a-f-]{36}\.tmp$/);
      } finally {
        await keyward.close();
      }
    });

    it('a delivery process killed (SIGKILL) mid-write leaves only 0600 files, and the next start removes them', async () => {
      const child = resolve(import.meta.dirname, 'fixtures/file-sink-child.mjs');
      expect(existsSync(resolve(import.meta.dirname, '../../packages/core/dist/index.js')), 'build the packages first').toBe(true);
      const seen: string[] = [];
      for (let attempt = 0; attempt < 40 && seen.length === 0; attempt++) {
        const proc = fork(child, [], { env: { ...process.env, DIR: dir }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
        await new Promise<void>((done, fail) => {
          proc.once('message', () => done());
          proc.once('exit', (code) => fail(new Error(`the child exited with ${code}`)));
        });
        await new Promise((r) => setTimeout(r, Math.random() * 20));
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGKILL');
        await exited;
        for (const name of await readdir(dir)) {
          if (!name.endsWith('.tmp')) continue;
          seen.push(name);
          expect((await stat(join(dir, name))).mode & 0o077, `${name} is readable by others`).toBe(0);
        }
      }
      expect(seen.length, 'no kill landed mid-write in 40 attempts').toBeGreaterThan(0);
      for (const name of await readdir(dir)) expect((await stat(join(dir, name))).mode & 0o777).toBe(0o600);
      // The next start: a sink whose threshold has passed (here at once) removes every leftover.
      await new FileSink({ dir, staleTempAfter: 0 }).deliver({ ...base, clientId: 'after-crash', key: 'sk_live_after' });
      const after = await readdir(dir);
      expect(after.filter((name) => name.endsWith('.tmp'))).toEqual([]);
      expect(after).toContain('after-crash.key');
    });
  });
});
