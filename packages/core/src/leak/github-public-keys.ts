import { ErrorCodes } from '../error-codes.js';
import { KeywardError } from '../errors.js';

/** GitHub's document of the keys that sign secret scanning reports. */
export const GITHUB_SECRET_SCANNING_KEYS_URL = 'https://api.github.com/meta/public_keys/secret_scanning';

/** Unknown key ids make the document be fetched again at most this often. */
const REFRESH_EVERY_MS = 60_000;

/**
 * The public keys that sign reports, by `key_identifier` (PEM), from a
 * `{ public_keys: [{ key_identifier, key, is_current }] }` document, fetched on first
 * need and cached. An unknown key id (a key rollover) fetches the document again, at
 * most once a minute. A document that cannot be fetched while the key id is unknown
 * is `KEYWARD_UNAVAILABLE` (the endpoint answers 503), never "accepted".
 */
export class GitHubPublicKeys {
  private keys = new Map<string, string>();
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private fetching: Promise<void> | undefined;

  constructor(
    private readonly url: string,
    private readonly fetchFn: typeof fetch,
    private readonly now: () => number,
  ) {}

  /** The PEM of `keyId`, or `null` when GitHub does not publish it. */
  async find(keyId: string): Promise<string | null> {
    const known = this.keys.get(keyId);
    if (known !== undefined) return known;
    if (this.now() - this.fetchedAt < REFRESH_EVERY_MS && this.fetching === undefined) return null;
    this.fetching ??= this.refresh().finally(() => {
      this.fetching = undefined;
    });
    await this.fetching;
    return this.keys.get(keyId) ?? null;
  }

  private async refresh(): Promise<void> {
    let body: unknown;
    try {
      const response = await this.fetchFn(this.url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      body = await response.json();
    } catch (error) {
      throw new KeywardError(
        ErrorCodes.UNAVAILABLE,
        `could not fetch the secret scanning public keys from ${this.url}: ${(error as Error).message}`,
        { url: this.url },
      );
    }
    const list = (body as { public_keys?: unknown } | null)?.public_keys;
    if (!Array.isArray(list)) {
      throw new KeywardError(ErrorCodes.UNAVAILABLE, `the public keys document at ${this.url} has no public_keys array`, { url: this.url });
    }
    const keys = new Map<string, string>();
    for (const entry of list as { key_identifier?: unknown; key?: unknown }[]) {
      if (typeof entry?.key_identifier === 'string' && typeof entry.key === 'string') keys.set(entry.key_identifier, entry.key);
    }
    this.keys = keys;
    this.fetchedAt = this.now();
  }
}
