import { KeyClientError, KeyClientErrorCodes } from '../errors.js';
import type { KeyClientConfig } from '../options.js';

/** The parts of keyward's `POST …/rotate` answer the client uses. */
export interface RotateAnswer {
  /** The new key; absent on a replay (shown once). */
  readonly key: string | undefined;
  readonly fingerprint: string;
  readonly expiresAt: string | null;
  readonly oldFingerprint: string;
  /** Epoch ms the old key stops working. */
  readonly sunsetAt: number;
  readonly replayed: boolean;
}

/** Header asking the server to replace a successor this key never used (lost response). */
export const REISSUE_HEADER = 'Keyward-Reissue';

/**
 * One call of the rotation endpoint, authenticated with the old key. Throws a
 * `KeyClientError` (`rotation_failed`, with the status and the server's code) on
 * anything but a 200/201 with a well-formed body. The key is never in the error.
 */
export async function callRotate(config: KeyClientConfig, oldKey: string, idempotencyKey: string, reissue: boolean): Promise<RotateAnswer> {
  const headers: Record<string, string> = { 'Idempotency-Key': idempotencyKey, Accept: 'application/json' };
  if (config.header === 'authorization') headers.Authorization = `Bearer ${oldKey}`;
  else headers['X-API-Key'] = oldKey;
  if (reissue) headers[REISSUE_HEADER] = 'unused-successor';
  let response: Response;
  try {
    response = await config.fetch(config.rotateUrl, { method: 'POST', headers, signal: AbortSignal.timeout(config.rotateTimeout) });
  } catch (error) {
    const reason = error instanceof Error ? error.name : 'error';
    throw new KeyClientError(
      KeyClientErrorCodes.ROTATION_FAILED,
      `the rotation endpoint ${config.rotateUrl} could not be reached (${reason}).`,
    );
  }
  let body: Record<string, unknown> | undefined;
  try {
    body = (await response.json()) as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  if (response.status !== 200 && response.status !== 201) {
    const code = typeof body?.error === 'string' ? body.error : 'http_error';
    throw new KeyClientError(
      KeyClientErrorCodes.ROTATION_FAILED,
      `the rotation endpoint answered ${response.status} ${code}.`,
      response.status,
    );
  }
  const sunsetAt = typeof body?.sunset === 'string' ? Date.parse(body.sunset) : Number.NaN;
  if (body === undefined || typeof body.fingerprint !== 'string' || !Number.isFinite(sunsetAt)) {
    throw new KeyClientError(
      KeyClientErrorCodes.ROTATION_FAILED,
      'the rotation endpoint answered a body that is not a keyward rotation.',
      response.status,
    );
  }
  return {
    key: typeof body.key === 'string' && body.key.length > 0 ? body.key : undefined,
    fingerprint: body.fingerprint,
    expiresAt: typeof body.expiresAt === 'string' ? body.expiresAt : null,
    oldFingerprint: typeof body.oldFingerprint === 'string' ? body.oldFingerprint : '',
    sunsetAt,
    replayed: body.replayed === true,
  };
}
