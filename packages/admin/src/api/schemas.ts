import { z } from 'zod';

/**
 * The admin API's schemas: they validate requests, describe responses (tests check
 * every response against them), and generate the OpenAPI document. One source.
 */

const Time = z.number().int().describe('milliseconds since the Unix epoch');
const NullableTime = Time.nullable();
const Status = z.enum(['pending', 'active', 'inactive', 'revoked']);
const Duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/)
  .describe('a duration: a number and a unit (ms, s, m, h, d), e.g. 48h');

export const ErrorBody = z
  .object({
    error: z.string().describe("a stable code: the core's KEYWARD_* codes, or an HTTP code such as insufficient_scope"),
    message: z.string(),
  })
  .meta({ id: 'Error' });

export const StatusCounts = z.object({
  pending: z.number().int(),
  active: z.number().int(),
  inactive: z.number().int(),
  revoked: z.number().int(),
});

export const Key = z
  .object({
    id: z.string(),
    clientId: z.string(),
    fingerprint: z.string().describe('first 8 hex characters of the key hash'),
    prefix: z.string(),
    status: Status,
    effectiveStatus: z.enum(['pending', 'active', 'inactive', 'revoked', 'expired']),
    scopes: z.array(z.string()),
    createdAt: Time,
    expiresAt: NullableTime,
    graceUntil: NullableTime,
    rotationId: z.string().nullable(),
    replaces: z.string().nullable(),
    revokedAt: NullableTime,
    revokedReason: z.string().nullable(),
    lastUsedAt: NullableTime,
  })
  .strict()
  .meta({ id: 'Key' });

export const Rotation = z
  .object({
    id: z.string(),
    clientId: z.string(),
    state: z.enum(['started', 'delivered', 'completed', 'failed', 'aborted']),
    status: z.enum(['pending', 'switched', 'completed', 'aborted']),
    oldKeyId: z.string(),
    newKeyId: z.string(),
    graceFrom: z.enum(['rotation', 'first-use']),
    graceUntil: Time,
    firstUsedAt: NullableTime,
    reason: z.string().nullable(),
    actor: z.string().nullable(),
    createdAt: Time,
    completedAt: NullableTime,
    lastError: z.string().nullable(),
  })
  .strict()
  .meta({ id: 'Rotation' });

export const RotationProgress = z
  .object({
    rotation: Rotation,
    verdict: z.enum(['switched', 'both', 'not-switched']),
    hours: z.array(Time).describe('start of each hour since the rotation started, oldest first'),
    oldPerHour: z.array(z.number().int()),
    newPerHour: z.array(z.number().int()),
    oldKeyFingerprint: z.string().nullable(),
    newKeyFingerprint: z.string().nullable(),
    oldLastUsedAt: NullableTime,
    graceLeftMs: z.number().int(),
  })
  .strict()
  .meta({ id: 'RotationProgress' });

export const RotationPage = z
  .object({ rotations: z.array(RotationProgress), next: z.string().nullable() })
  .strict()
  .meta({ id: 'RotationPage' });

export const AuditRow = z
  .object({
    seq: z.number().int(),
    at: Time,
    type: z.string(),
    clientId: z.string().nullable(),
    keyId: z.string().nullable(),
    fingerprint: z.string().nullable(),
    rotationId: z.string().nullable(),
    actor: z.string().nullable(),
    reason: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    prevHash: z.string(),
    hash: z.string(),
  })
  .strict()
  .meta({ id: 'AuditRow' });

export const AuditPage = z
  .object({ rows: z.array(AuditRow), next: z.number().int().nullable() })
  .strict()
  .meta({ id: 'AuditPage' });

export const AuditVerify = z
  .object({
    ok: z.boolean(),
    count: z.number().int(),
    brokenAt: z.number().int().optional(),
    problem: z.string().optional(),
    message: z.string(),
  })
  .strict()
  .meta({ id: 'AuditVerify' });

export const ClientSummary = z
  .object({ clientId: z.string(), counts: StatusCounts, nextExpiry: NullableTime, lastUsedAt: NullableTime })
  .strict()
  .meta({ id: 'ClientSummary' });

export const ClientPage = z
  .object({ clients: z.array(ClientSummary), next: z.string().nullable() })
  .strict()
  .meta({ id: 'ClientPage' });

export const ClientDetail = z
  .object({ clientId: z.string(), keys: z.array(Key), rotations: z.array(Rotation), audit: z.array(AuditRow) })
  .strict()
  .meta({ id: 'ClientDetail' });

const HealthPart = z.object({ state: z.enum(['ok', 'failing', 'off']), ms: z.number().nullable(), detail: z.string() }).strict();
export const Health = z
  .object({
    store: HealthPart,
    cache: HealthPart,
    changeLog: z.object({ state: z.enum(['ok', 'failing', 'off']), detail: z.string() }).strict(),
    keysByStatus: StatusCounts.nullable(),
  })
  .strict()
  .meta({ id: 'Health' });

export const IssuedKey = z
  .object({
    key: z.string().nullable().describe('the plaintext key, shown in this response only; null on a replay'),
    replayed: z.boolean(),
    id: z.string(),
    clientId: z.string(),
    fingerprint: z.string(),
    scopes: z.array(z.string()),
    createdAt: Time,
    expiresAt: NullableTime,
  })
  .strict()
  .meta({ id: 'IssuedKey' });

export const RotationStarted = z
  .object({
    key: z.string().nullable().describe('the new plaintext key, shown in this response only; null on a replay'),
    replayed: z.boolean(),
    rotationId: z.string(),
    clientId: z.string(),
    newKeyId: z.string(),
    fingerprint: z.string(),
    graceUntil: Time,
  })
  .strict()
  .meta({ id: 'RotationStarted' });

export const Finalized = z
  .object({
    rotationId: z.string(),
    clientId: z.string(),
    keyId: z.string(),
    fingerprint: z.string(),
    retiredKeyId: z.string(),
    retiredFingerprint: z.string(),
  })
  .strict()
  .meta({ id: 'Finalized' });

export const Extended = z.object({ rotationId: z.string(), graceUntil: Time }).strict().meta({ id: 'Extended' });
export const Aborted = z
  .object({ rotationId: z.string(), state: z.literal('aborted') })
  .strict()
  .meta({ id: 'Aborted' });
export const Purged = z
  .object({ purged: z.number().int(), fingerprints: z.array(z.string()) })
  .strict()
  .meta({ id: 'Purged' });

// Requests.
const ClientId = z.string().min(1).max(200);
const Reason = z.string().trim().min(1).max(500);

export const IssueRequest = z
  .object({
    clientId: ClientId,
    scopes: z
      .array(z.string().regex(/^[\x21-\x7e]{1,100}$/))
      .max(100)
      .optional(),
    ttl: Duration.nullable().optional().describe('lifetime; null never expires; default: keyward keyLifetime'),
  })
  .strict()
  .meta({ id: 'IssueRequest' });

export const RotateRequest = z
  .object({
    grace: Duration.optional(),
    graceFrom: z.enum(['rotation', 'first-use']).optional(),
    keyId: z.string().optional().describe('the key to rotate when the client has several active keys'),
    reason: Reason.optional(),
  })
  .strict()
  .meta({ id: 'RotateRequest' });

export const RevokeRequest = z.object({ reason: Reason }).strict().meta({ id: 'RevokeRequest' });
export const AbortRequest = z.object({ reason: Reason.optional() }).strict().meta({ id: 'AbortRequest' });
export const ExtendRequest = z.object({ by: Duration }).strict().meta({ id: 'ExtendRequest' });
export const EmptyRequest = z.object({}).strict();

export const ClientsQuery = z
  .object({
    search: z.string().max(200).optional(),
    status: Status.optional(),
    expiring: z.enum(['1', 'true']).optional(),
    after: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(200).optional(),
  })
  .strict();

export const AuditQuery = z
  .object({
    client: z.string().max(200).optional(),
    type: z.string().max(100).optional(),
    actor: z.string().max(500).optional(),
    before: z.coerce.number().int().min(1).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
  })
  .strict();

export const RotationsQuery = z
  .object({ after: z.string().max(200).optional(), limit: z.coerce.number().int().min(1).max(200).optional() })
  .strict();
