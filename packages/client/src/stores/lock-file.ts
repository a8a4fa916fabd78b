import { open, readFile, rm, stat } from 'node:fs/promises';
import type { Clock } from '../clock.js';
import type { ReleaseLock } from './key-store.js';

/**
 * A cross-process lock: `path` created with `O_EXCL`, holding the owner's pid and
 * a random token. A lock older than `staleMs` (its holder died mid-rotation) is
 * taken over. Resolves `undefined` when another live holder has it.
 */
export async function tryLock(path: string, staleMs: number, clock: Clock, token: string): Promise<ReleaseLock | undefined> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify({ pid: process.pid, token, at: clock.now() }), 'utf8');
      } finally {
        await handle.close();
      }
      return () => release(path, token);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!(await isStale(path, staleMs, clock))) return undefined;
      await rm(path, { force: true });
    }
  }
  return undefined;
}

async function isStale(path: string, staleMs: number, clock: Clock): Promise<boolean> {
  try {
    const info = await stat(path);
    return clock.now() - info.mtimeMs > staleMs;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Removes the lock only if it is still ours (a stale takeover may have replaced it). */
async function release(path: string, token: string): Promise<void> {
  try {
    const held = JSON.parse(await readFile(path, 'utf8')) as { token?: string };
    if (held.token === token) await rm(path, { force: true });
  } catch {
    // gone already
  }
}
