import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createKeyClient } from './key-client.js';
import { resolveOptions } from './options.js';
import { FileStore } from './stores/file-store.js';
import { MemoryKeyStore } from './stores/memory-store.js';

const dir = mkdtempSync(join(tmpdir(), 'keyward-client-opts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const store = new MemoryKeyStore('sk_test_x');

describe('options', () => {
  it.each([
    [{ baseUrl: 'not a url', store }, /option "baseUrl" must be an absolute http\(s\) URL; got "not a url"/],
    [{ baseUrl: 'ftp://x', store }, /"baseUrl"/],
    [{ baseUrl: 'http://x', store: {} }, /option "store" must be a KeyStore/],
    [{ baseUrl: 'http://x', store, rotatePath: 'rotate' }, /"rotatePath" must be a path starting with "\/"; got "rotate"/],
    [{ baseUrl: 'http://x', store, header: 'cookie' }, /"header"/],
    [{ baseUrl: 'http://x', store, rotateBefore: -1 }, /"rotateBefore".*got -1/],
    [{ baseUrl: 'http://x', store, backoffInitial: 5000, backoffMax: 1000 }, /"backoffMax"/],
  ])('rejects %o', (options, message) => {
    expect(() => createKeyClient(options as never)).toThrow(message);
  });

  it('never mutates the caller options; resolves the rotate URL under a base path', () => {
    const options = Object.freeze({ baseUrl: 'https://api.example.com/v1/', store });
    const config = resolveOptions(options);
    expect(config.rotateUrl).toBe('https://api.example.com/v1/api-keys/rotate');
    expect(config.origin).toBe('https://api.example.com');
    expect(options).toEqual({ baseUrl: 'https://api.example.com/v1/', store });
  });
});

describe('FileStore lock', () => {
  it('one holder at a time; a stale lock is taken over; release removes only its own lock', async () => {
    const path = join(dir, 'k.key');
    const a = new FileStore({ path, staleLockMs: 1000 });
    const b = new FileStore({ path, staleLockMs: 1000 });
    const release = await a.lock();
    expect(release).toBeTypeOf('function');
    expect(await b.lock()).toBeUndefined();
    const old = new Date(Date.now() - 5000);
    utimesSync(`${path}.lock`, old, old); // its holder died long ago
    const takeover = await b.lock();
    expect(takeover).toBeTypeOf('function');
    await release?.(); // a's late release must not remove b's lock
    expect(await a.lock()).toBeUndefined();
    await takeover?.();
    expect(await a.lock()).toBeTypeOf('function');
  });

  it('rejects bad options naming them', () => {
    expect(() => new FileStore({ path: '' })).toThrow(/FileStore\.path/);
    expect(() => new FileStore({ path: 'x', staleLockMs: 0 })).toThrow(/FileStore\.staleLockMs/);
    expect(() => new FileStore({ path: 'x', mode: 0o1777 })).toThrow(/FileStore\.mode/);
  });
});
