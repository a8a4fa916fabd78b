import { ErrorCodes } from '../error-codes.js';
import { isKeywardError } from '../errors.js';
import type { Keyward } from '../keyward.js';
import type { ValidKey } from '../verify-result.js';
import { ApiKeyHttpError } from './api-key-http-error.js';
import { httpDate } from './challenge.js';
import { HttpErrorCodes as C } from './http-error-codes.js';
import { IDEMPOTENCY_KEY, repeatedValues } from './raw-headers.js';
import { deprecationHeader, invalidRequestError, type ResponseConfig, unavailableError } from './responses.js';

/** The response of `POST …/rotate`: the new key (once), its fingerprint, and the old key's sunset. */
export interface SelfRotationBody {
  /** The new plaintext key. Present only in the first response; a replay cannot show it again. */
  readonly key?: string;
  readonly keyId: string;
  readonly fingerprint: string;
  /** ISO time the new key expires, or `null`. */
  readonly expiresAt: string | null;
  readonly rotationId: string;
  readonly oldKeyId: string;
  readonly oldFingerprint: string;
  /** ISO time the old key stops working. */
  readonly sunset: string;
  /** `true` when this answers a retry with the same `Idempotency-Key`. */
  readonly replayed: boolean;
}

export interface SelfRotationResponse {
  /** 201 for a new rotation, 200 for a replay. */
  readonly status: 200 | 201;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: SelfRotationBody;
}

const TOKEN = /^[\x20-\x7e]{1,255}$/;

/**
 * Reads the `Idempotency-Key` header (a bare or quoted string, 1–255 printable
 * characters). Node joins two such headers `a` and `b` into `"a, b"`: pass the
 * request's `rawHeaders` so that two different tokens are a 400, not one token.
 */
export function parseIdempotencyKey(
  config: ResponseConfig,
  header: string | readonly string[] | undefined,
  rawHeaders?: readonly string[],
): string | undefined {
  const value = header === undefined ? undefined : (repeatedValues(rawHeaders, IDEMPOTENCY_KEY) ?? header);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    if (new Set(value).size !== 1) throw invalidRequestError(config, 'The request has several Idempotency-Key headers.');
    return parseIdempotencyKey(config, value[0] as string);
  }
  let token = value.trim();
  if (token.length >= 2 && token.startsWith('"') && token.endsWith('"')) token = token.slice(1, -1);
  if (!TOKEN.test(token)) throw invalidRequestError(config, 'The Idempotency-Key header must be 1-255 printable characters.');
  return token;
}

/** `Keyward-Reissue: unused-successor` asks to replace a successor this key never used. */
function parseReissue(config: ResponseConfig, header: string | readonly string[] | undefined): boolean {
  if (header === undefined) return false;
  const value = (typeof header === 'string' ? header : header.join(',')).trim().toLowerCase();
  if (value === 'unused-successor') return true;
  throw invalidRequestError(config, 'The Keyward-Reissue header must be "unused-successor".');
}

function rotationError(config: ResponseConfig, error: unknown): unknown {
  if (!isKeywardError(error)) return error;
  switch (error.code) {
    case ErrorCodes.ROTATION_IN_PROGRESS:
    case ErrorCodes.CONFLICT:
      return new ApiKeyHttpError(409, C.ROTATION_IN_PROGRESS, 'A rotation of this key is already in progress; use the new key.');
    case ErrorCodes.ILLEGAL_TRANSITION:
    case ErrorCodes.NOT_FOUND:
    case ErrorCodes.AMBIGUOUS_KEY:
      return new ApiKeyHttpError(409, C.ROTATION_NOT_ALLOWED, 'This key cannot be rotated now.');
    case ErrorCodes.INVALID_ARGUMENT:
      return invalidRequestError(config, 'The rotation request is malformed.');
    case ErrorCodes.UNAVAILABLE:
      return unavailableError(config);
    default:
      return error;
  }
}

/**
 * Self-service rotation for a client authenticated with its current key: issues
 * the successor of exactly that key (`keyward.rotate(clientId, { keyId,
 * idempotencyKey })`). The old key keeps working until `sunset`. A retry with the
 * same idempotency key gets the same rotation back (without the plaintext, shown
 * once). Refusals throw an `ApiKeyHttpError` (409, 400 or 503); other errors are rethrown.
 */
export async function selfRotate(
  keyward: Keyward,
  key: ValidKey,
  config: ResponseConfig,
  request: {
    readonly idempotencyKey?: string | readonly string[] | undefined;
    /** The request's headers as received (Node's `req.rawHeaders`): shows a repeated `Idempotency-Key`. */
    readonly rawHeaders?: readonly string[] | undefined;
    /**
     * The `Keyward-Reissue` header. `unused-successor`: the client lost the answer
     * of its own rotation and never used that successor; it is revoked and a fresh one issued.
     */
    readonly reissue?: string | readonly string[] | undefined;
  },
): Promise<SelfRotationResponse> {
  const idempotencyKey = parseIdempotencyKey(config, request.idempotencyKey, request.rawHeaders);
  const reissue = parseReissue(config, request.reissue);
  let result: Awaited<ReturnType<Keyward['rotate']>>;
  try {
    const options = {
      keyId: key.keyId,
      idempotencyKey,
      actor: `self-service:${key.fingerprint}`,
      reason: reissue ? 'self-service rotation (reissued)' : 'self-service rotation',
      // Default 'first-use': a consumer that lost the response, or whose replicas pick the
      // key up late, keeps its old key until it really switches (`selfServiceGraceFrom`).
      graceFrom: keyward.config.selfServiceGraceFrom,
    };
    result = reissue ? await keyward.reissueUnusedSuccessor(key.clientId, options) : await keyward.rotate(key.clientId, options);
  } catch (error) {
    throw rotationError(config, error);
  }
  const headers: Record<string, string> = {
    'Cache-Control': 'no-store',
    Sunset: httpDate(result.graceUntil),
    Deprecation: deprecationHeader(result.startedAt),
  };
  if (result.replayed) headers['Idempotent-Replayed'] = 'true';
  const body: SelfRotationBody = {
    ...(result.key === undefined ? {} : { key: result.key }),
    keyId: result.newKeyId,
    fingerprint: result.fingerprint,
    expiresAt: result.expiresAt === null ? null : new Date(result.expiresAt).toISOString(),
    rotationId: result.rotationId,
    oldKeyId: result.oldKeyId,
    oldFingerprint: result.oldFingerprint,
    sunset: new Date(result.graceUntil).toISOString(),
    replayed: result.replayed,
  };
  return { status: result.replayed ? 200 : 201, headers, body };
}
