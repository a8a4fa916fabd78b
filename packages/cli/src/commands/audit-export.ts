import { once } from 'node:events';
import { type FileHandle, open } from 'node:fs/promises';
import { type AuditRecord, auditPages, type Keyward } from '@keyward/core';
import { OperationError } from '../errors.js';
import type { Output } from '../output.js';

/** One JSONL line: every field the hash covers (times in ms, as hashed) plus seq, prevHash and hash. */
export function exportLine(row: AuditRecord): string {
  const { seq, at, type, clientId, keyId, fingerprint, rotationId, actor, reason, data, prevHash, hash } = row;
  return JSON.stringify({ seq, at, type, clientId, keyId, fingerprint, rotationId, actor, reason, data, prevHash, hash });
}

/**
 * `keyward audit --export <file>` (`-` for stdout): the whole trail as JSONL in seq
 * order, streamed page by page, so it can be checked offline (README: "Verify an export").
 */
export async function exportAudit(keyward: Keyward, out: Output, target: string): Promise<void> {
  let rows = 0;
  let head = '';
  if (target === '-') {
    for await (const page of auditPages(keyward.store)) {
      out.result(page.map(exportLine).join('\n'));
      rows += page.length;
      head = page.at(-1)?.hash ?? head;
    }
  } else {
    let handle: FileHandle;
    try {
      handle = await open(target, 'wx', 0o600);
    } catch (error) {
      throw new OperationError(
        `--export: cannot write ${JSON.stringify(target)} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      );
    }
    const file = handle.createWriteStream();
    const failed = once(file, 'error').then(([error]) => {
      throw new OperationError(
        `--export: cannot write ${JSON.stringify(target)} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      );
    });
    failed.catch(() => {});
    for await (const page of auditPages(keyward.store)) {
      if (!file.write(`${page.map(exportLine).join('\n')}\n`)) await Promise.race([once(file, 'drain'), failed]);
      rows += page.length;
      head = page.at(-1)?.hash ?? head;
    }
    file.end();
    await Promise.race([once(file, 'close'), failed]);
  }
  out.info(`exported ${rows} audit rows${rows > 0 ? `, head ${rows}:${head}` : ''}`);
}
