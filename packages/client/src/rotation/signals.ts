/** What a response says about the key that made it. */
export interface RotationSignal {
  /** `Sunset` (RFC 8594) as epoch ms, when present and valid. */
  readonly sunsetAt: number | undefined;
  /** `true` when `Deprecation` (RFC 9745) is present. */
  readonly deprecated: boolean;
}

/** Reads `Sunset` and `Deprecation`; `undefined` when the response carries neither. */
export function rotationSignal(headers: Headers): RotationSignal | undefined {
  const sunset = headers.get('sunset');
  const deprecation = headers.get('deprecation');
  if (sunset === null && deprecation === null) return undefined;
  const parsed = sunset === null ? Number.NaN : Date.parse(sunset);
  return { sunsetAt: Number.isFinite(parsed) ? parsed : undefined, deprecated: deprecation !== null };
}

/** The keyward error code of a 401 (`{ error, message }` JSON body), read from a clone. */
export async function errorCode(response: Response): Promise<string | undefined> {
  if (!(response.headers.get('content-type') ?? '').includes('json')) return undefined;
  try {
    const body = (await response.clone().json()) as { error?: unknown };
    return typeof body.error === 'string' ? body.error : undefined;
  } catch {
    return undefined;
  }
}
