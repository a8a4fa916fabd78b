/** Builds a `WWW-Authenticate` challenge (RFC 6750 §3): `Bearer realm="api", error="invalid_token"`. */
export function challenge(scheme: string, realm: string, params?: Readonly<Record<string, string>>): string {
  let value = `${scheme} realm="${realm}"`;
  if (params !== undefined) for (const name of Object.keys(params)) value += `, ${name}="${params[name]}"`;
  return value;
}

/** An HTTP-date (RFC 9110 IMF-fixdate), as `Sunset` (RFC 8594) and `Retry-After` want. */
export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** Whole seconds to wait, at least 1 (a `Retry-After` of 0 invites a hot loop). */
export function retryAfterSeconds(seconds: number): string {
  return String(Math.max(1, Math.ceil(seconds)));
}
