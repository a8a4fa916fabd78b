import { describeAuditProblem, type Keyward } from '@keyward/core';
import type { z } from 'zod';
import type { AdminActions } from '../actions.js';
import type { AdminPrincipal } from '../auth/principal.js';
import type { ConsoleStore } from '../data/console-store.js';
import { health } from '../data/overview.js';
import { parseRotationCursor, rotationProgressPage } from '../data/progress.js';
import { auditJson, keyJson, progressJson, rotationJson } from '../data/records.js';
import { AdminHttpError } from '../http/errors.js';
import * as S from './schemas.js';

export interface ApiContext {
  readonly keyward: Keyward;
  readonly store: ConsoleStore;
  readonly actions: AdminActions;
  readonly principal: AdminPrincipal;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly idempotencyKey: string | undefined;
  readonly rotateBeforeMs: number;
}

export interface ApiRoute {
  readonly method: 'get' | 'post';
  /** OpenAPI-style path below `/api/v1`, e.g. `/keys/{keyId}/revoke`. */
  readonly path: string;
  readonly summary: string;
  readonly write: boolean;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  readonly status: number;
  readonly response: z.ZodType;
  /** The response holds a new plaintext key: `Cache-Control: no-store`. */
  readonly secret?: boolean;
  /** Accepts `Idempotency-Key`. */
  readonly idempotent?: boolean;
  readonly handle: (ctx: ApiContext) => Promise<unknown>;
}

const limitOf = (value: string | undefined, fallback: number) => (value === undefined ? fallback : Number(value));

export const API_ROUTES: readonly ApiRoute[] = [
  {
    method: 'get',
    path: '/health',
    summary: 'Store, shared cache and change log health, and keys by status',
    write: false,
    status: 200,
    response: S.Health,
    handle: async ({ keyward, store }) => {
      const [h, keysByStatus] = await Promise.all([health(keyward, store), store.countKeysByStatus().catch(() => null)]);
      return { ...h, keysByStatus };
    },
  },
  {
    method: 'get',
    path: '/clients',
    summary: 'Clients by id (keyset pages), searched by client id or fingerprint prefix, filtered by status or expiring',
    write: false,
    query: S.ClientsQuery,
    status: 200,
    response: S.ClientPage,
    handle: async ({ store, query, keyward, rotateBeforeMs }) => {
      const page = await store.listClients({
        limit: limitOf(query.limit, 50),
        ...(query.search ? { search: query.search } : {}),
        ...(query.status ? { status: [query.status as 'active'] } : {}),
        ...(query.expiring ? { expiresBefore: keyward.config.clock.now() + rotateBeforeMs } : {}),
        ...(query.after ? { after: query.after } : {}),
      });
      return { clients: page.clients.map((c) => ({ ...c, counts: { ...c.counts } })), next: page.next };
    },
  },
  {
    method: 'get',
    path: '/clients/{clientId}',
    summary: "A client's keys, rotations and newest audit rows",
    write: false,
    status: 200,
    response: S.ClientDetail,
    handle: async ({ store, params, keyward }) => {
      const clientId = params.clientId as string;
      const [keys, rotations, audit] = await Promise.all([
        store.listKeys({ clientId }),
        store.listRotations({ clientId }),
        store.listAuditPage({ clientId, limit: 50 }),
      ]);
      if (keys.length === 0 && rotations.length === 0) throw new AdminHttpError(404, 'KEYWARD_NOT_FOUND', `no client ${clientId}`);
      const now = keyward.config.clock.now();
      const open = rotations.find((r) => r.state === 'started' || r.state === 'delivered');
      return {
        clientId,
        keys: keys.map((k) => keyJson(k, now, open && open.newKeyId === k.id ? open.graceUntil : null)),
        rotations: rotations.map(rotationJson),
        audit: audit.map(auditJson),
      };
    },
  },
  {
    method: 'post',
    path: '/clients/{clientId}/rotate',
    summary: "Rotates the client's key: the new key is in this response only",
    write: true,
    body: S.RotateRequest,
    status: 201,
    response: S.RotationStarted,
    secret: true,
    idempotent: true,
    handle: ({ actions, principal, params, body, idempotencyKey }) =>
      actions.rotate(principal.actor, params.clientId as string, body as z.infer<typeof S.RotateRequest>, idempotencyKey),
  },
  {
    method: 'post',
    path: '/keys',
    summary: 'Issues a key: the plaintext is in this response only',
    write: true,
    body: S.IssueRequest,
    status: 201,
    response: S.IssuedKey,
    secret: true,
    idempotent: true,
    handle: ({ actions, principal, body }) => actions.issue(principal.actor, body as z.infer<typeof S.IssueRequest>),
  },
  {
    method: 'get',
    path: '/keys/{keyId}',
    summary: 'One key (no hash, no plaintext)',
    write: false,
    status: 200,
    response: S.Key,
    handle: async ({ store, params, keyward }) => {
      const key = await store.findKeyById(params.keyId as string);
      if (!key) throw new AdminHttpError(404, 'KEYWARD_NOT_FOUND', `no key ${params.keyId}`);
      return keyJson(key, keyward.config.clock.now());
    },
  },
  {
    method: 'post',
    path: '/keys/{keyId}/revoke',
    summary: 'Revokes a key at once (a reason is required)',
    write: true,
    body: S.RevokeRequest,
    status: 200,
    response: S.Key,
    idempotent: true,
    handle: ({ actions, principal, params, body }) =>
      actions.revoke(principal.actor, params.keyId as string, body as z.infer<typeof S.RevokeRequest>),
  },
  {
    method: 'get',
    path: '/rotations',
    summary: 'Open rotations with their traffic per hour and a verdict (switched, both, not-switched)',
    write: false,
    query: S.RotationsQuery,
    status: 200,
    response: S.RotationPage,
    handle: async ({ store, query, keyward }) => {
      const after = parseRotationCursor(query.after);
      const page = await rotationProgressPage(store, keyward.config.clock.now(), {
        limit: limitOf(query.limit, 25),
        ...(after ? { after } : {}),
      });
      return { rotations: page.rows.map(progressJson), next: page.next };
    },
  },
  {
    method: 'post',
    path: '/rotations/{rotationId}/finalize',
    summary: 'Finalizes an open rotation now: the old key is retired',
    write: true,
    body: S.EmptyRequest,
    status: 200,
    response: S.Finalized,
    idempotent: true,
    handle: ({ actions, principal, params }) => actions.finalize(principal.actor, params.rotationId as string),
  },
  {
    method: 'post',
    path: '/rotations/{rotationId}/abort',
    summary: 'Aborts an open rotation: the old key stays, the new key is revoked',
    write: true,
    body: S.AbortRequest,
    status: 200,
    response: S.Aborted,
    idempotent: true,
    handle: ({ actions, principal, params, body }) =>
      actions.abort(principal.actor, params.rotationId as string, body as z.infer<typeof S.AbortRequest>),
  },
  {
    method: 'post',
    path: '/rotations/{rotationId}/extend',
    summary: "Extends an open rotation's grace",
    write: true,
    body: S.ExtendRequest,
    status: 200,
    response: S.Extended,
    idempotent: true,
    handle: ({ actions, principal, params, body }) =>
      actions.extend(principal.actor, params.rotationId as string, body as z.infer<typeof S.ExtendRequest>),
  },
  {
    method: 'post',
    path: '/purge',
    summary: 'Deletes revoked and inactive keys past their retention (their audit rows stay)',
    write: true,
    body: S.EmptyRequest,
    status: 200,
    response: S.Purged,
    idempotent: true,
    handle: ({ actions, principal }) => actions.purge(principal.actor),
  },
  {
    method: 'get',
    path: '/audit',
    summary: 'Audit rows newest first, filtered by client, type and actor',
    write: false,
    query: S.AuditQuery,
    status: 200,
    response: S.AuditPage,
    handle: async ({ store, query }) => {
      const limit = limitOf(query.limit, 50);
      const rows = await store.listAuditPage({
        limit,
        ...(query.client ? { clientId: query.client } : {}),
        ...(query.type ? { type: query.type } : {}),
        ...(query.actor ? { actor: query.actor } : {}),
        ...(query.before ? { beforeSeq: Number(query.before) } : {}),
      });
      return { rows: rows.map(auditJson), next: rows.length === limit ? (rows.at(-1)?.seq ?? null) : null };
    },
  },
  {
    method: 'get',
    path: '/audit/verify',
    summary: 'Verifies the whole audit hash chain (streamed, page by page)',
    write: false,
    status: 200,
    response: S.AuditVerify,
    handle: async ({ keyward }) => verifyReport(keyward),
  },
];

export async function verifyReport(keyward: Keyward): Promise<z.infer<typeof S.AuditVerify>> {
  const report = await keyward.verifyAuditChain();
  if (report.ok) return { ok: true, count: report.count, message: `audit chain intact: ${report.count} rows verified` };
  return { ok: false, count: report.count, brokenAt: report.brokenAt, problem: report.problem, message: describeAuditProblem(report) };
}

/** Matches `path` (below `/api/v1`) against a route's pattern; returns its decoded parameters. */
export function matchRoute(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const g = got[i] as string;
    if (w.startsWith('{')) {
      let value: string;
      try {
        value = decodeURIComponent(g);
      } catch {
        return null;
      }
      if (value.length === 0) return null;
      params[w.slice(1, -1)] = value;
    } else if (w !== g) return null;
  }
  return params;
}
