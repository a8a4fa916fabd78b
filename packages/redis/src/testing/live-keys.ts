import { type KeyRecord, type LiveKey, type Logger, toLiveKey } from '@keyward/core';
import { makeKeyRecord } from '@keyward/core/testing';

/** A LiveKey for tests (a random hash unless given). */
export const liveKey = (overrides: Partial<KeyRecord> = {}): LiveKey => toLiveKey(makeKeyRecord(overrides));

/** A logger that remembers what it was told. */
export function recordingLogger(): Logger & { readonly lines: { level: string; obj: object; msg: string | undefined }[] } {
  const lines: { level: string; obj: object; msg: string | undefined }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj, msg });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
