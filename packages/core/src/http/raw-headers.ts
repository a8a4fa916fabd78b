/**
 * Repeated header fields, read from Node's `rawHeaders` (name, value, name, value, …
 * as received). Node keeps only the first `Authorization` of a request and joins
 * other repeated fields with `, `, so `headers` alone cannot tell "two different
 * keys" from one. The walk runs on the hot path (every request with an
 * `Authorization` header): it compares lengths first, then the two spellings
 * clients send (`authorization`, `Authorization`) as whole strings, and lower-cases
 * only a name of the right length spelled otherwise. A character loop measured ~4x
 * slower; this costs about what reading each name's length does (~20 ns for 8 fields).
 */

/** A lower-case field name with its usual Title-Case spelling, for the walk above. */
export interface FieldName {
  readonly lower: string;
  readonly title: string;
}

/** Made once per name (a module constant), not per request. */
export function fieldName(lower: string): FieldName {
  return { lower, title: lower.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase()) };
}

export const AUTHORIZATION = fieldName('authorization');
export const IDEMPOTENCY_KEY = fieldName('idempotency-key');

function matches(raw: string, field: FieldName): boolean {
  return raw.length === field.lower.length && (raw === field.title || raw === field.lower || raw.toLowerCase() === field.lower);
}

/** True when the request carries `field` more than once. */
export function isRepeated(rawHeaders: readonly string[] | undefined, field: FieldName): boolean {
  if (rawHeaders === undefined) return false;
  let seen = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!matches(rawHeaders[i] as string, field)) continue;
    if (seen) return true;
    seen = true;
  }
  return false;
}

/** Every value of `field` when it occurs more than once, else `undefined`. */
export function repeatedValues(rawHeaders: readonly string[] | undefined, field: FieldName): string[] | undefined {
  if (!isRepeated(rawHeaders, field)) return undefined;
  const raw = rawHeaders as readonly string[];
  const values: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (matches(raw[i] as string, field)) values.push(raw[i + 1] ?? '');
  return values;
}

/**
 * The credential headers of a request, read from `rawHeaders` as Node's `headers` would
 * show them (the first `Authorization`; other repeated fields joined with `, `), and no
 * other field. For a server that never builds `headers` itself (Hono on
 * `@hono/node-server`): Node builds that object on first read, which costs a light
 * framework ~1.5 µs per request.
 */
export function credentialHeaders(
  rawHeaders: readonly string[],
  bearer: boolean,
  keyHeader: FieldName | undefined,
): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] ?? '';
    if (bearer && matches(name, AUTHORIZATION)) {
      if (out.authorization === undefined) out.authorization = value;
    } else if (keyHeader !== undefined && matches(name, keyHeader)) {
      const before = out[keyHeader.lower];
      out[keyHeader.lower] = before === undefined ? value : `${before}, ${value}`;
    }
  }
  return out;
}
