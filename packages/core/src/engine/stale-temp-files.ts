import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** The temporary files `FileSink` writes before its rename: `.<uuid>.tmp`. */
export const TEMP_FILE_NAME = /^\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;

/**
 * Removes the temporary files a delivery killed mid-write left in `dir` (each holds
 * a plaintext key). Only files older than `maxAgeMs` go, so a delivery in flight in
 * another process sharing the directory keeps its file; `inFlight` names this
 * process's own. Ages are file times, so they are compared with the wall clock, not
 * the injected one. A missing directory holds nothing; a file another process
 * removed first is skipped. Resolves with the number removed.
 */
export async function removeStaleTempFiles(dir: string, maxAgeMs: number, inFlight: ReadonlySet<string>): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  const now = Date.now();
  let removed = 0;
  for (const name of names) {
    if (!TEMP_FILE_NAME.test(name) || inFlight.has(name)) continue;
    const path = join(dir, name);
    const stats = await lstat(path).catch(() => undefined);
    if (stats === undefined || !stats.isFile() || now - stats.mtimeMs < maxAgeMs) continue;
    await rm(path, { force: true });
    removed += 1;
  }
  return removed;
}
