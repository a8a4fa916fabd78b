import { invalidOption } from '../errors.js';
import { localFingerprint } from '../fingerprint.js';
import type { KeyState, KeyStore } from './key-store.js';

export interface EnvStoreOptions {
  /** Name of the environment variable holding the key. Default `KEYWARD_API_KEY`. */
  variable?: string;
  /** The environment to read. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * A read-only store: the key from an environment variable. The client never
 * rotates it; on `Sunset` it warns (`rotation.failed` with `read_only_store`) so a
 * person or the deployment replaces the variable.
 */
export class EnvStore implements KeyStore {
  readonly readOnly = true;
  readonly variable: string;
  private readonly env: Readonly<Record<string, string | undefined>>;

  constructor(options: EnvStoreOptions = {}) {
    const variable = options.variable ?? 'KEYWARD_API_KEY';
    if (typeof variable !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) {
      throw invalidOption('EnvStore.variable', variable, 'an environment variable name');
    }
    this.variable = variable;
    this.env = options.env ?? process.env;
  }

  async load(): Promise<KeyState | undefined> {
    const key = this.env[this.variable]?.trim();
    if (key === undefined || key.length === 0) return undefined;
    return { current: { key, fingerprint: localFingerprint(key), expiresAt: null }, previous: null, pending: null };
  }

  async save(): Promise<void> {
    throw new Error(`@keyward/client: the env store (${this.variable}) is read-only.`);
  }
}
