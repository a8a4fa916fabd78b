import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/**
 * Calls `listener` when `path` changes. Watches the folder, not the file: an atomic
 * write renames a new file over the old one, and a watch on the old inode would
 * never fire again. Never keeps the process alive. Returns a stop function.
 */
export function watchFile(path: string, listener: () => void): () => void {
  const name = basename(path);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      if (file === null || file === name) listener();
    });
    watcher.on('error', () => undefined);
  } catch {
    return () => undefined;
  }
  return () => watcher?.close();
}
