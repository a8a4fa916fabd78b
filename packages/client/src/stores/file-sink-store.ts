import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { invalidOption } from '../errors.js';
import type { KeyState, KeyStore } from './key-store.js';
import { parseKeyFile } from './parse-state.js';
import { watchFile } from './watch-file.js';

export interface FileSinkStoreOptions {
  /**
   * The file the server's `FileSink` writes for this client: `<dir>/<clientId>.key`
   * (`FileSink.pathFor(clientId)`), holding the key and a newline.
   */
  path: string;
}

/**
 * The server pushes the new key (keyward's scheduler with a `FileSink`, on a
 * shared volume or a mounted secret); the client picks it up without restarting.
 * Read-only: the client never rotates it itself, and on `Sunset` only warns. The
 * sink writes atomically (rename), so a read sees the old key or the new one.
 */
export class FileSinkStore implements KeyStore {
  readonly readOnly = true;
  readonly path: string;

  constructor(options: FileSinkStoreOptions) {
    if (typeof options !== 'object' || options === null) throw invalidOption('FileSinkStore.options', options, 'an object');
    if (typeof options.path !== 'string' || options.path.length === 0)
      throw invalidOption('FileSinkStore.path', options.path, 'a file path');
    this.path = isAbsolute(options.path) ? options.path : resolve(options.path);
  }

  async load(): Promise<KeyState | undefined> {
    try {
      return parseKeyFile(await readFile(this.path, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async save(): Promise<void> {
    throw new Error(`@keyward/client: the file sink store (${this.path}) is written by the server only.`);
  }

  watch(listener: () => void): () => void {
    return watchFile(this.path, listener);
  }
}
