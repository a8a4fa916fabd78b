import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { formatDuration } from '@keyward/core';
import type { AdminActions } from './actions.js';
import { verifyReport } from './api/routes.js';
import * as S from './api/schemas.js';
import { type AdminPrincipal, canWrite } from './auth/principal.js';
import type { ConsoleStore } from './data/console-store.js';
import { overview } from './data/overview.js';
import { parseRotationCursor, rotationProgressPage } from './data/progress.js';
import { formatTime } from './html/html.js';
import type { PageContext } from './html/layout.js';
import { auditPage } from './html/views/audit.js';
import { clientDetailPage } from './html/views/client-detail.js';
import { clientsPage } from './html/views/clients.js';
import { messagePage, shownKeyPage } from './html/views/messages.js';
import { overviewPage } from './html/views/overview.js';
import { rotationsPage } from './html/views/rotations.js';
import type { AdminRequest } from './http/admin-request.js';
import { readBody } from './http/admin-request.js';
import { AdminErrorCodes, AdminHttpError, failureOf } from './http/errors.js';
import type { Replays } from './http/replays.js';
import { redirect, sendHtml } from './http/respond.js';
import type { AdminConfig } from './options.js';

export interface HtmlDeps {
  readonly config: AdminConfig;
  readonly store: ConsoleStore;
  readonly actions: AdminActions;
  readonly replays: Replays;
}

export function pageContext(
  config: AdminConfig,
  ar: AdminRequest,
  principal: AdminPrincipal | null,
  flash?: PageContext['flash'],
): PageContext {
  return {
    base: ar.base,
    title: config.title,
    principal,
    canWrite: principal !== null && canWrite(principal),
    nonce: randomBytes(16).toString('base64url'),
    flash,
  };
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

/** The HTML pages (GET) and form actions (POST, `actions/<name>`). Returns false when no route matched. */
export async function handleHtml(deps: HtmlDeps, ar: AdminRequest, res: ServerResponse, principal: AdminPrincipal): Promise<boolean> {
  const { config, store } = deps;
  const now = () => config.keyward.config.clock.now();
  const ctx = pageContext(config, ar, principal);
  if (ar.method === 'GET' || ar.method === 'HEAD') {
    switch (ar.path) {
      case '/':
        sendHtml(res, 200, overviewPage(ctx, await overview(config.keyward, store, config.rotateBeforeMs)));
        return true;
      case '/clients': {
        const search = (ar.query.get('q') ?? '').trim().slice(0, 200);
        const status = ar.query.get('status') ?? '';
        const expiring = ar.query.get('expiring') === '1';
        const after = ar.query.get('after') ?? undefined;
        if (status !== '' && !['active', 'pending', 'inactive', 'revoked'].includes(status)) {
          throw new AdminHttpError(400, AdminErrorCodes.INVALID_REQUEST, `unknown status ${status.slice(0, 20)}`);
        }
        const page = await store.listClients({
          limit: 50,
          ...(search ? { search } : {}),
          ...(status ? { status: [status as 'active'] } : {}),
          ...(expiring ? { expiresBefore: now() + config.rotateBeforeMs } : {}),
          ...(after ? { after } : {}),
        });
        sendHtml(res, 200, clientsPage(ctx, page, { search, status, expiring }));
        return true;
      }
      case '/client': {
        const clientId = ar.query.get('id') ?? '';
        const [keys, rotations, audit] = await Promise.all([
          store.listKeys({ clientId }),
          store.listRotations({ clientId }),
          store.listAuditPage({ clientId, limit: 20 }),
        ]);
        if (keys.length === 0 && rotations.length === 0 && audit.length === 0) {
          sendHtml(res, 404, messagePage(ctx, 'No such client', `No client ${clientId} is known.`, 'error'));
          return true;
        }
        sendHtml(res, 200, clientDetailPage(ctx, clientId, keys, [...rotations].reverse(), audit, now()));
        return true;
      }
      case '/rotations': {
        const client = ar.query.get('client') ?? '';
        const after = parseRotationCursor(ar.query.get('after'));
        const page = await rotationProgressPage(store, now(), {
          limit: 25,
          ...(after ? { after } : {}),
          ...(client ? { clientId: client } : {}),
        });
        sendHtml(res, 200, rotationsPage(ctx, page, client));
        return true;
      }
      case '/audit':
      case '/audit/verify': {
        const filter = { client: ar.query.get('client') ?? '', type: ar.query.get('type') ?? '', actor: ar.query.get('actor') ?? '' };
        const beforeText = ar.query.get('before');
        const before = Number(beforeText);
        if (beforeText !== null && beforeText !== '' && !(Number.isSafeInteger(before) && before > 0)) {
          throw new AdminHttpError(400, AdminErrorCodes.INVALID_REQUEST, 'before: not an audit row number');
        }
        const rows = await store.listAuditPage({
          limit: 50,
          ...(filter.client ? { clientId: filter.client } : {}),
          ...(filter.type ? { type: filter.type } : {}),
          ...(filter.actor ? { actor: filter.actor } : {}),
          ...(Number.isSafeInteger(before) && before > 0 ? { beforeSeq: before } : {}),
        });
        const verify = ar.path === '/audit/verify' ? await verifyReport(config.keyward) : undefined;
        const next = rows.length === 50 ? (rows.at(-1)?.seq ?? null) : null;
        sendHtml(res, 200, auditPage(ctx, rows, next, filter, verify ? { ok: verify.ok, text: verify.message } : undefined));
        return true;
      }
      default:
        return false;
    }
  }
  if (ar.method !== 'POST' || !ar.path.startsWith('/actions/')) return false;
  if (!canWrite(principal)) throw new AdminHttpError(403, AdminErrorCodes.INSUFFICIENT_SCOPE, 'This admin key is read-only.');
  const form = await readBody(ar.req);
  const nonce = str(form.nonce);
  const replayId = nonce ? `form\u0000${principal.actor}\u0000${nonce}` : undefined;
  const replay = replayId ? deps.replays.get(replayId) : undefined;
  const action = ar.path.slice('/actions/'.length);
  try {
    await runAction(deps, ar, res, principal, action, form, replay?.body, replayId);
  } catch (error) {
    const failure = failureOf(error);
    if (failure.status >= 500 && failure.error === 'internal_error') throw error;
    sendHtml(res, failure.status, messagePage(ctx, 'The action failed', `${failure.message} (${failure.error})`, 'error'));
  }
  return true;
}

async function runAction(
  deps: HtmlDeps,
  ar: AdminRequest,
  res: ServerResponse,
  principal: AdminPrincipal,
  action: string,
  form: Record<string, unknown>,
  replayed: unknown,
  replayId: string | undefined,
): Promise<void> {
  const { actions, replays, config } = deps;
  const ctx = pageContext(config, ar, principal);
  const back = (clientId: string) => `${ar.base}client?id=${encodeURIComponent(clientId)}`;
  const remember = (body: unknown) => {
    if (replayId) replays.set(replayId, 200, body);
  };
  switch (action) {
    case 'issue': {
      if (replayed) {
        const r = replayed as { clientId: string; fingerprint: string };
        sendHtml(res, 200, shownKeyPage(ctx, { key: null, clientId: r.clientId, fingerprint: r.fingerprint, what: 'issued' }), {
          noStore: true,
        });
        return;
      }
      const ttl = str(form.ttl);
      const scopes = str(form.scopes)
        .split(/[\s,]+/)
        .filter(Boolean);
      const body = S.IssueRequest.parse({
        clientId: str(form.clientId).trim(),
        ...(scopes.length > 0 ? { scopes } : {}),
        ...(ttl === 'never' ? { ttl: null } : ttl ? { ttl } : {}),
      });
      const issued = await actions.issue(principal.actor, body);
      remember(issued);
      sendHtml(
        res,
        200,
        shownKeyPage(ctx, { key: issued.key, clientId: issued.clientId, fingerprint: issued.fingerprint, what: 'issued' }),
        {
          noStore: true,
        },
      );
      return;
    }
    case 'rotate': {
      const clientId = str(form.clientId);
      const body = S.RotateRequest.parse({
        ...(str(form.grace) ? { grace: str(form.grace) } : {}),
        ...(str(form.graceFrom) ? { graceFrom: str(form.graceFrom) } : {}),
      });
      // The form's one-time token is the core's idempotency key: a resubmitted form
      // replays the rotation (without its key) instead of starting another.
      const idempotency = str(form.nonce) || undefined;
      const result = await actions.rotate(principal.actor, clientId, body, idempotency ? `console-${idempotency}` : undefined);
      sendHtml(
        res,
        200,
        shownKeyPage(ctx, {
          key: result.key,
          clientId: result.clientId,
          fingerprint: result.fingerprint,
          what: 'rotated',
          graceUntil: `${formatTime(result.graceUntil)} (${formatDuration(Math.max(0, result.graceUntil - config.keyward.config.clock.now()))} from now)`,
        }),
        { noStore: true },
      );
      return;
    }
    case 'revoke': {
      const keyId = str(form.keyId);
      if (!replayed) {
        const key = await actions.revoke(principal.actor, keyId, S.RevokeRequest.parse({ reason: str(form.reason) }));
        remember({ clientId: key.clientId });
        redirect(res, back(key.clientId));
        return;
      }
      redirect(res, back((replayed as { clientId: string }).clientId));
      return;
    }
    case 'abort':
    case 'finalize':
    case 'extend': {
      const rotationId = str(form.rotationId);
      if (!replayed) {
        if (action === 'abort')
          await actions.abort(principal.actor, rotationId, S.AbortRequest.parse(str(form.reason) ? { reason: str(form.reason) } : {}));
        else if (action === 'finalize') await actions.finalize(principal.actor, rotationId);
        else await actions.extend(principal.actor, rotationId, S.ExtendRequest.parse({ by: str(form.by) }));
        remember({ rotationId });
      }
      redirect(res, `${ar.base}rotations`);
      return;
    }
    case 'purge': {
      const result = replayed ? (replayed as { purged: number }) : await actions.purge(principal.actor);
      if (!replayed) remember(result);
      sendHtml(res, 200, messagePage(ctx, 'Purge', `${result.purged} retired keys purged.`, 'ok'));
      return;
    }
    default:
      throw new AdminHttpError(404, AdminErrorCodes.NOT_FOUND, `no action ${action.slice(0, 40)}`);
  }
}
