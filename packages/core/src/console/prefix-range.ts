/**
 * The smallest string above every string that starts with `prefix`, in code point
 * order (PostgreSQL's `COLLATE "C"` and SQLite's BINARY compare UTF-8 bytes, which is
 * the same order). `x` starts with `prefix` exactly when `prefix <= x < bound`, so a
 * prefix search becomes a range on an ordinary B-tree index, with no LIKE and no
 * metacharacters to escape. `null` when there is no bound (an empty prefix, or one of
 * only U+10FFFF): then `x >= prefix` alone is exact.
 */
export function prefixUpperBound(prefix: string): string | null {
  const points = Array.from(prefix, (c) => c.codePointAt(0) ?? 0);
  while (points.length > 0) {
    const last = points.pop() as number;
    if (last < 0x10ffff) {
      // Skip the surrogate block: it holds no characters of its own.
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return String.fromCodePoint(...points, next);
    }
  }
  return null;
}
