/**
 * A database or Redis URL (or a SQLite path) made safe to print: a URL's password
 * becomes `***`; a `scheme://` text that does not parse shows only its scheme (it
 * may hold a password we cannot find); a plain path, which holds no secret, is
 * shown as is. The CLI and the examples print every URL through this.
 */
export function maskUrl(value: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1];
  if (scheme === undefined) return value;
  try {
    const url = new URL(value);
    if (url.password !== '') url.password = '***';
    return url.href;
  } catch {
    return `(a ${scheme}:// URL that does not parse)`;
  }
}
