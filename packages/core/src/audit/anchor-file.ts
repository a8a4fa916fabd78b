import { open } from 'node:fs/promises';
import { type AuditAnchor, parseAnchorLines } from './anchor.js';

const TAIL_BYTES = 64 * 1024;

/** The last anchor in an anchor file (read from its tail only), or `undefined` when the file is missing or holds none. */
export async function lastAnchorInFile(path: string): Promise<AuditAnchor | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    if (length < size) lines.shift(); // the first line may be cut
    return parseAnchorLines(lines.join('\n'), path).at(-1);
  } finally {
    await handle.close();
  }
}
