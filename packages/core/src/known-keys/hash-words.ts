import { type HashFilter, hashWords } from './hash-filter.js';

/**
 * Key hashes as a build collects them: only the two 32-bit words the filter's probes
 * use, 8 bytes a key in a growing typed array (a million hex strings would take
 * ~100 MB; this takes 8 MB), so the filter can be sized once the count is known.
 */
export class HashWords {
  private words = new Uint32Array(2 * 4096);
  private length = 0;

  push(keyHash: string): void {
    const [a, b] = hashWords(keyHash);
    if (Number.isNaN(a) || Number.isNaN(b)) return;
    if (this.length + 2 > this.words.length) {
      const grown = new Uint32Array(this.words.length * 2);
      grown.set(this.words);
      this.words = grown;
    }
    this.words[this.length++] = a;
    this.words[this.length++] = b;
  }

  get count(): number {
    return this.length / 2;
  }

  /** Adds every hash to `filter`, each once (a key heard during the build may also be in a page). */
  addTo(filter: HashFilter): void {
    const { words } = this;
    for (let i = 0; i < this.length; i += 2) {
      const a = words[i] as number;
      const b = words[i + 1] as number;
      if (!filter.mayContainWords(a, b)) filter.addWords(a, b);
    }
  }
}
