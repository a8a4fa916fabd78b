import { randomUUID } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { type Clock, systemClock } from '../clock.js';
import { invalidOption } from '../errors.js';
import { atomicWrite, type WriteStep } from './atomic-write.js';
import type { KeyState, KeyStore, ReleaseLock } from './key-store.js';
import { tryLock } from './lock-file.js';
import { formatKeyFile, parseKeyFile } from './parse-state.js';
import { watchFile } from './watch-file.js';

export interface FileStoreOptions {
  /** The key file. It holds the client's JSON state, or a bare key on first use. */
  path: string;
  /** File mode of the key file. Default `0o600`. */
  mode?: number;
  /**
   * A rotation lock (`<path>.lock`) or temporary file older than this was left by a
   * process that died mid-rotation: the lock is taken over, the temporary file
   * removed (milliseconds). Default `30000`.
   */
  staleLockMs?: number;
  /** Time source for the stale-lock check. Default the system clock. */
  clock?: Clock;
  /** Test hook: called between the steps of a save. */
  onWriteStep?: (step: WriteStep) => void;
}

/**
 * The key in a 0600 file, saved atomically (temp file, fsync, rename, fsync of the
 * folder). Processes sharing the file rotate one at a time (`lock()`), and see each
 * other's rotations (`watch()`).
 */
export class FileStore implements KeyStore {
  readonly readOnly = false;
  readonly path: string;
  private readonly mode: number;
  private readonly staleLockMs: number;
  private readonly clock: Clock;
  private readonly onWriteStep: ((step: WriteStep) => void) | undefined;
  private swept = false;

  constructor(options: FileStoreOptions) {
    if (typeof options !== 'object' || options === null) throw invalidOption('FileStore.options', options, 'an object');
    if (typeof options.path !== 'string' || options.path.length === 0) throw invalidOption('FileStore.path', options.path, 'a file path');
    const mode = options.mode ?? 0o600;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw invalidOption('FileStore.mode', mode, 'a file mode such as 0o600');
    const staleLockMs = options.staleLockMs ?? 30_000;
    if (!Number.isFinite(staleLockMs) || staleLockMs <= 0)
      throw invalidOption('FileStore.staleLockMs', staleLockMs, 'a positive number of milliseconds');
    this.path = isAbsolute(options.path) ? options.path : resolve(options.path);
    this.mode = mode;
    this.staleLockMs = staleLockMs;
    this.clock = options.clock ?? systemClock;
    this.onWriteStep = options.onWriteStep;
  }

  async load(): Promise<KeyState | undefined> {
    if (!this.swept) {
      this.swept = true;
      await this.removeStaleTempFiles().catch(() => undefined);
    }
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return parseKeyFile(text);
  }

  async save(state: KeyState): Promise<void> {
    await atomicWrite(this.path, formatKeyFile(state), this.mode, this.onWriteStep);
  }

  /**
   * Removes temporary files (they may hold a plaintext key) that a process killed
   * mid-write left behind: those older than `staleLockMs`. Runs on the first `load`.
   */
  async removeStaleTempFiles(): Promise<number> {
    const dir = dirname(this.path);
    const prefix = `.${basename(this.path)}.`;
    let removed = 0;
    for (const name of await readdir(dir)) {
      if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
      const info = await stat(join(dir, name)).catch(() => undefined);
      if (info === undefined || this.clock.now() - info.mtimeMs <= this.staleLockMs) continue;
      await rm(join(dir, name), { force: true });
      removed++;
    }
    return removed;
  }

  lock(): Promise<ReleaseLock | undefined> {
    return tryLock(`${this.path}.lock`, this.staleLockMs, this.clock, randomUUID());
  }

  /** Calls `listener` when the key file is replaced (see `watchFile`). */
  watch(listener: () => void): () => void {
    return watchFile(this.path, listener);
  }
}
