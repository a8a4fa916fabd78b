import { localFingerprint } from '../fingerprint.js';
import type { KeyState, KeyStore } from './key-store.js';

/** A store in memory, for tests and short-lived scripts: a restart loses a rotated key. */
export class MemoryKeyStore implements KeyStore {
  readonly readOnly = false;
  private state: KeyState | undefined;

  constructor(key?: string) {
    if (key !== undefined)
      this.state = { current: { key, fingerprint: localFingerprint(key), expiresAt: null }, previous: null, pending: null };
  }

  async load(): Promise<KeyState | undefined> {
    return this.state;
  }

  async save(state: KeyState): Promise<void> {
    this.state = state;
  }
}
