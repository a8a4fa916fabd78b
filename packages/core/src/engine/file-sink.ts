import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { type Duration, parseDuration } from '../duration.js';
import { invalidOption } from '../errors.js';
import type { DeliveryCheck, DeliveryStatus, KeyDelivery, SecretSink } from './secret-sink.js';
import { removeStaleTempFiles } from './stale-temp-files.js';

export interface FileSinkOptions {
  /** Directory the key files go to (created with mode 0700 on first delivery if missing). */
  dir: string;
  /** File mode of the key files. Default `0o600` (owner read/write only). */
  mode?: number;
  /** Name in logs and audit rows. Default `file`. */
  name?: string;
  /**
   * A `.<uuid>.tmp` file older than this is the leftover of a delivery killed
   * mid-write (it holds a plaintext key) and is removed: on the first delivery, at
   * the start of every scheduler pass, and during deliveries at most once per this
   * period. It must exceed the longest write (milliseconds). Default `1m`.
   */
  staleTempAfter?: Duration;
}

/**
 * A file name for a client id that is safe on every file system and injective:
 * letters, digits, `_` and `-` are kept, every other byte becomes `%XX` (so `a/b`
 * and `a_b` never share a file, and `..` cannot escape the directory); a name that
 * would exceed 200 bytes is shortened with a SHA-256 suffix.
 */
export function keyFileName(clientId: string): string {
  let encoded = '';
  for (const byte of Buffer.from(clientId, 'utf8')) {
    const char = String.fromCharCode(byte);
    encoded += /[A-Za-z0-9_-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (encoded.length > 200) encoded = `${encoded.slice(0, 150)}~${createHash('sha256').update(clientId).digest('hex').slice(0, 32)}`;
  return `${encoded}.key`;
}

/**
 * Delivers a rotated key by writing `<dir>/<clientId>.key` (the key and a newline)
 * atomically: a temporary file with mode 0600 in the same directory, `fsync`,
 * then `rename` over the old file, then `fsync` of the directory. A reader sees the
 * old key or the new one, never a torn file. The key is never logged. The temporary
 * file is created with the final mode (never readable by others, even for a moment),
 * and one a crash left behind is removed (`staleTempAfter`).
 */
export class FileSink implements SecretSink {
  readonly name: string;
  readonly dir: string;
  private readonly mode: number;
  private readonly staleTempMs: number;
  private ready: Promise<void> | undefined;
  /** Temporary files this sink is writing now: never swept. */
  private readonly inFlight = new Set<string>();
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(options: FileSinkOptions) {
    if (typeof options !== 'object' || options === null) throw invalidOption('FileSink.options', options, 'must be an object');
    if (typeof options.dir !== 'string' || options.dir.trim() === '')
      throw invalidOption('FileSink.dir', options.dir, 'must be a directory path');
    const mode = options.mode ?? 0o600;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777 || (mode & 0o077) !== 0) {
      throw invalidOption('FileSink.mode', mode, 'must be a file mode without group/other bits (e.g. 0o600 or 0o400)');
    }
    const name = options.name ?? 'file';
    if (typeof name !== 'string' || !/^[\w.:-]{1,64}$/.test(name))
      throw invalidOption('FileSink.name', name, 'must be 1-64 letters, digits, _ . : or -');
    this.dir = isAbsolute(options.dir) ? options.dir : resolve(options.dir);
    this.mode = mode;
    this.name = name;
    this.staleTempMs = parseDuration(options.staleTempAfter ?? '1m', 'FileSink.staleTempAfter');
  }

  /**
   * Removes the temporary files (plaintext keys) that deliveries killed mid-write
   * left in the directory, older than `staleTempAfter`. The scheduler calls it at
   * the start of every pass. Resolves with the number removed.
   */
  async removeStaleTempFiles(): Promise<number> {
    this.lastSweep = Date.now();
    return removeStaleTempFiles(this.dir, this.staleTempMs, this.inFlight);
  }

  /** `SecretSink.prepare`: the sweep, at the start of a scheduler pass. */
  async prepare(): Promise<void> {
    await this.removeStaleTempFiles();
  }

  /** Where the key of `clientId` is written. */
  pathFor(clientId: string): string {
    return join(this.dir, keyFileName(clientId));
  }

  async deliver(delivery: KeyDelivery): Promise<void> {
    this.ready ??= mkdir(this.dir, { recursive: true, mode: 0o700 }).then(() => undefined);
    try {
      await this.ready;
    } catch (error) {
      this.ready = undefined;
      throw error;
    }
    // Leftovers of a crash hold plaintext keys: gone at start-up, then swept now and then.
    if (Date.now() - this.lastSweep >= this.staleTempMs) await this.removeStaleTempFiles();
    const target = this.pathFor(delivery.clientId);
    const tempName = `.${randomUUID()}.tmp`;
    this.inFlight.add(tempName);
    try {
      await this.write(join(this.dir, tempName), target, delivery.key);
    } finally {
      this.inFlight.delete(tempName);
    }
  }

  /** Writes the key to `temp` (created with the final mode: never readable by others), then renames it over `target`. */
  private async write(temp: string, target: string, key: string): Promise<void> {
    const handle = await open(temp, 'wx', this.mode);
    try {
      await handle.chmod(this.mode); // the umask may have narrowed it further; make it exact
      await handle.writeFile(`${key}\n`, 'utf8');
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await rm(temp, { force: true });
      throw error;
    }
    await handle.close();
    try {
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    // From here on a reader may have the new key: never reject (a rejection makes
    // the scheduler revoke it). The directory fsync is best effort anyway.
    await syncDir(this.dir).catch(() => undefined);
  }

  /**
   * After a crash: `held` when `<dir>/<clientId>.key` holds the rotation's new key
   * (the file is only ever put in place whole, by `rename`, so a reader may have
   * it), `absent` when the file is missing or holds another key (no reader can
   * have seen the new one: it never left its temporary file), `unknown` when the
   * file cannot be read.
   */
  async confirm(check: DeliveryCheck): Promise<DeliveryStatus> {
    let text: string | undefined;
    try {
      text = await readSmallFile(this.pathFor(check.clientId));
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : 'unknown';
    }
    if (text === undefined) return 'absent'; // far larger than any key we write
    return check.isNewKey(text.endsWith('\n') ? text.slice(0, -1) : text) ? 'held' : 'absent';
  }
}

/** Longest key file `confirm` reads: a key file holds one key and a newline. */
const MAX_KEY_FILE = 4096;

/** The file's text, or `undefined` when it is longer than `MAX_KEY_FILE` bytes. */
async function readSmallFile(path: string): Promise<string | undefined> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(MAX_KEY_FILE + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return bytesRead > MAX_KEY_FILE ? undefined : buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Makes the rename durable. Not every platform can fsync a directory: best effort. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // e.g. Windows: directories cannot be opened for fsync
  } finally {
    await handle.close();
  }
}
