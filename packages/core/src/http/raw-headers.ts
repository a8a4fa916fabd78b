/**
 * Repeated header fields, read from Node's `rawHeaders` (name, value, name, value, …
 * as received). Node keeps only the first `Authorization` of a request and joins
 * other repeated fields with `, `, so `headers` alone cannot tell "two different
 * keys" from one. Both helpers walk the names once and compare only those of the
 * right length, without allocating: they run on the hot path.
 */

/** `field` equals the lower-case `name`, ignoring ASCII case (header names are tokens: letters, digits, `-`). */
function sameName(field: string, name: string): boolean {
  if (field.length !== name.length) return false;
  for (let i = 0; i < name.length; i++) if ((field.charCodeAt(i) | 0x20) !== name.charCodeAt(i)) return false;
  return true;
}

/** True when the request carries the field `name` (lower case) more than once. */
export function isRepeated(rawHeaders: readonly string[] | undefined, name: string): boolean {
  if (rawHeaders === undefined) return false;
  let seen = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!sameName(rawHeaders[i] as string, name)) continue;
    if (seen) return true;
    seen = true;
  }
  return false;
}

/** Every value of the field `name` (lower case) when it occurs more than once, else `undefined`. */
export function repeatedValues(rawHeaders: readonly string[] | undefined, name: string): string[] | undefined {
  if (!isRepeated(rawHeaders, name)) return undefined;
  const values: string[] = [];
  const raw = rawHeaders as readonly string[];
  for (let i = 0; i < raw.length; i += 2) if (sameName(raw[i] as string, name)) values.push(raw[i + 1] ?? '');
  return values;
}
