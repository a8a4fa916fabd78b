import { randomUUID } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Test hook: called between the steps of a write (`temp-written`, `renamed`). */
export type WriteStep = 'temp-written' | 'renamed';

/**
 * Writes `text` to `path` so a reader sees the old file or the new one, never a
 * torn one: a temporary file created with `mode` in the same folder, `fsync`,
 * `rename` over `path`, then `fsync` of the folder.
 */
export async function atomicWrite(path: string, text: string, mode: number, onStep?: (step: WriteStep) => void): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomUUID()}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.chmod(mode); // the umask may have narrowed it; make it exact
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  onStep?.('temp-written');
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  onStep?.('renamed');
  await syncDir(dir);
}

async function syncDir(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot fsync a folder; the rename is still atomic.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
