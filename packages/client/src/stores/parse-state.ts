import { localFingerprint } from '../fingerprint.js';
import type { KeyState, PendingRotation, StoredKey } from './key-store.js';

function storedKey(value: unknown): StoredKey | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.key !== 'string' || v.key.length === 0) return null;
  return {
    key: v.key,
    fingerprint: typeof v.fingerprint === 'string' ? v.fingerprint : localFingerprint(v.key),
    expiresAt: typeof v.expiresAt === 'string' ? v.expiresAt : null,
  };
}

function pending(value: unknown): PendingRotation | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.from !== 'string' || typeof v.idempotencyKey !== 'string' || typeof v.startedAt !== 'string') return null;
  return { from: v.from, idempotencyKey: v.idempotencyKey, startedAt: v.startedAt };
}

/**
 * Reads a key file: either the JSON state this package writes, or a bare key (and
 * a newline), as written by hand or by the server's FileSink.
 */
export function parseKeyFile(text: string): KeyState | undefined {
  const trimmed = text.trim();
  if (trimmed.length === 0) return undefined;
  if (!trimmed.startsWith('{'))
    return { current: { key: trimmed, fingerprint: localFingerprint(trimmed), expiresAt: null }, previous: null, pending: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  const v = parsed as Record<string, unknown>;
  const current = storedKey(v.current);
  if (current === null) return undefined;
  return { current, previous: storedKey(v.previous), pending: pending(v.pending) };
}

export function formatKeyFile(state: KeyState): string {
  return `${JSON.stringify({ version: 1, ...state }, null, 2)}\n`;
}
