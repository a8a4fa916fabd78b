import type { IncomingMessage, ServerResponse } from 'node:http';
import { AdminActions } from './actions.js';
import { openApiDocument } from './api/openapi.js';
import { API_ROUTES, type ApiRoute, matchRoute } from './api/routes.js';
import { ErrorBody } from './api/schemas.js';
import { AdminKeys } from './auth/admin-keys.js';
import { type AdminAuth, authenticateAdmin } from './auth/authenticate-admin.js';
import { csrfAllowed } from './auth/csrf.js';
import { canRead, canWrite } from './auth/principal.js';
import { clearedSessionCookie, SESSION_COOKIE, SessionStore, sessionCookie } from './auth/sessions.js';
import { consoleStore } from './data/console-store.js';
import { ADMIN_CSS, ADMIN_JS } from './html/assets.js';
import { loginPage, messagePage } from './html/views/messages.js';
import { handleHtml, pageContext } from './html-routes.js';
import { type AdminRequest, adminRequest, isHttps, isLoopback, readBody } from './http/admin-request.js';
import { AdminErrorCodes, type AdminFailure, AdminHttpError, failureOf, zodFailure } from './http/errors.js';
import { Replays } from './http/replays.js';
import { redirect, securityHeaders, sendHtml, sendJson } from './http/respond.js';
import { type KeywardAdminOptions, resolveAdminOptions } from './options.js';

/** The console as a Node request handler; Express passes `next`, which is never needed (every path below the mount is ours). */
export interface KeywardAdminHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /** Issues an admin key (needs `adminKeys`): shown once, like every key. */
  issueAdminKey(
    name: string,
    options?: { write?: boolean; actor?: string },
  ): Promise<{ key: string; fingerprint: string; clientId: string }>;
  /** Stops the admin-key verifier (the API's keyward instance is the caller's to close). */
  close(): Promise<void>;
}

const API_PREFIX = '/api/v1';

/**
 * The operator console: server-rendered HTML pages, plain forms (they work with
 * JavaScript off), and a JSON admin API with its OpenAPI document, in one handler
 * for Node's `(req, res)`. Deny by default: see `KeywardAdminOptions`.
 *
 * ```ts
 * app.use('/keyward', keywardAdmin({ keyward, adminKeys: true }));
 * ```
 */
export function keywardAdmin(options: KeywardAdminOptions): KeywardAdminHandler {
  const config = resolveAdminOptions(options);
  const store = consoleStore(config.keyward);
  const clock = config.keyward.config.clock;
  const adminKeys = config.adminKeyPrefix === null ? undefined : new AdminKeys(config.keyward, config.adminKeyPrefix);
  const sessions = new SessionStore(clock, config.sessionTtlMs);
  const replays = new Replays(() => clock.now());
  const actions = new AdminActions(config.keyward);
  const deps = { config, store, actions, replays };
  let openApi: string | undefined;
  const logger = config.keyward.config.logger;

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    securityHeaders(res);
    const ar = adminRequest(req);
    const api = ar.path === API_PREFIX || ar.path.startsWith(`${API_PREFIX}/`);
    if (ar.slashRedirect !== null && (ar.method === 'GET' || ar.method === 'HEAD')) {
      redirect(res, ar.slashRedirect);
      return;
    }
    if (ar.method === 'GET' && ar.path.startsWith('/assets/')) {
      serveAsset(ar.path, res);
      return;
    }
    if (!csrfAllowed(req, ar.method)) {
      fail(res, api, ar, { status: 403, error: AdminErrorCodes.CROSS_SITE, message: 'Cross-site requests cannot change anything here.' });
      return;
    }
    if (ar.path === '/login' || ar.path === '/logout') {
      await login(ar, res);
      return;
    }
    const auth = await authenticateAdmin(req, ar.cookies, config, adminKeys, sessions, isLoopback(req));
    if (!auth.ok) {
      unauthenticated(auth, ar, res, api);
      return;
    }
    const { principal } = auth;
    if (!canRead(principal)) {
      fail(res, api, ar, {
        status: 403,
        error: AdminErrorCodes.INSUFFICIENT_SCOPE,
        message: 'This principal has neither keyward:read nor keyward:write.',
      });
      return;
    }
    if (api) {
      await serveApi(ar, res, principal);
      return;
    }
    if (!(await handleHtml(deps, ar, res, principal))) {
      sendHtml(res, 404, messagePage(pageContext(config, ar, principal), 'Not found', 'There is no such page.', 'error'));
    }
  }

  async function login(ar: AdminRequest, res: ServerResponse): Promise<void> {
    const secure = isHttps(ar.req, config.trustProxy);
    if (ar.path === '/logout') {
      if (ar.method !== 'POST') {
        redirect(res, './');
        return;
      }
      sessions.end(ar.cookies.get(SESSION_COOKIE));
      redirect(res, adminKeys ? './login' : './', [clearedSessionCookie(secure)]);
      return;
    }
    const ctx = pageContext(config, ar, null);
    if (!adminKeys) {
      sendHtml(res, 404, messagePage(ctx, 'No login here', 'This console does not use admin keys.', 'error'));
      return;
    }
    if (ar.method !== 'POST') {
      sendHtml(res, 200, loginPage(ctx));
      return;
    }
    const form = await readBody(ar.req);
    const key = typeof form.key === 'string' ? form.key.trim() : '';
    const admin = key ? await adminKeys.verify(key) : null;
    if (!admin) {
      logger.warn({ event: 'admin.login_failed' }, 'keyward admin: login refused');
      sendHtml(res, 401, loginPage(ctx, 'That is not a valid admin key.'));
      return;
    }
    const cookie = sessions.create(admin.keyId);
    logger.info(
      { event: 'admin.login', actor: admin.principal.actor, fingerprint: admin.fingerprint },
      'keyward admin: operator logged in',
    );
    redirect(res, './', [sessionCookie(cookie, secure, Math.floor(config.sessionTtlMs / 1000))]);
  }

  function unauthenticated(auth: Extract<AdminAuth, { ok: false }>, ar: AdminRequest, res: ServerResponse, api: boolean): void {
    if (auth.why === 'loopback-only') {
      fail(res, api, ar, {
        status: 403,
        error: AdminErrorCodes.LOOPBACK_ONLY,
        message: 'This console has no authorize hook and no admin keys, so it serves this machine only.',
      });
      return;
    }
    if (!api && auth.why === 'login' && adminKeys) {
      redirect(res, `${ar.base}login`);
      return;
    }
    res.setHeader('WWW-Authenticate', 'Bearer realm="keyward-admin"');
    fail(res, api, ar, {
      status: 401,
      error: auth.why === 'login' ? AdminErrorCodes.UNAUTHENTICATED : AdminErrorCodes.INVALID_CREDENTIALS,
      message: auth.why === 'login' ? 'Present an admin key.' : 'These credentials were refused.',
    });
  }

  function fail(res: ServerResponse, api: boolean, ar: AdminRequest, failure: AdminFailure): void {
    if (api) sendJson(res, failure.status, ErrorBody.parse({ error: failure.error, message: failure.message }));
    else
      sendHtml(
        res,
        failure.status,
        messagePage(pageContext(config, ar, null), 'Refused', `${failure.message} (${failure.error})`, 'error'),
      );
  }

  async function serveApi(ar: AdminRequest, res: ServerResponse, principal: { actor: string; scopes: readonly string[] }): Promise<void> {
    const sub = ar.path.slice(API_PREFIX.length) || '/';
    if (sub === '/openapi.json' && ar.method === 'GET') {
      openApi ??= JSON.stringify(openApiDocument());
      res.statusCode = 200;
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(openApi);
      return;
    }
    let route: ApiRoute | undefined;
    let params: Record<string, string> | null = null;
    let pathMatched = false;
    for (const candidate of API_ROUTES) {
      const match = matchRoute(candidate.path, sub);
      if (!match) continue;
      pathMatched = true;
      if (candidate.method.toUpperCase() === ar.method) {
        route = candidate;
        params = match;
        break;
      }
    }
    if (!route || !params) {
      fail(
        res,
        true,
        ar,
        pathMatched
          ? { status: 405, error: AdminErrorCodes.METHOD_NOT_ALLOWED, message: `${ar.method} is not allowed here` }
          : { status: 404, error: AdminErrorCodes.NOT_FOUND, message: 'no such API route' },
      );
      return;
    }
    if (route.write && !canWrite(principal)) {
      fail(res, true, ar, {
        status: 403,
        error: AdminErrorCodes.INSUFFICIENT_SCOPE,
        message: 'This admin key is read-only (needs keyward:write).',
      });
      return;
    }
    const query = Object.fromEntries(ar.query);
    const parsedQuery = route.query ? route.query.safeParse(query) : { success: true as const, data: {} };
    if (!parsedQuery.success) {
      fail(res, true, ar, zodFailure(parsedQuery.error));
      return;
    }
    let body: unknown;
    if (route.body) {
      const raw = await readBody(ar.req);
      const parsed = route.body.safeParse(raw);
      if (!parsed.success) {
        fail(res, true, ar, zodFailure(parsed.error));
        return;
      }
      body = parsed.data;
    }
    const idempotencyKey = route.idempotent ? idempotencyKeyOf(ar.req.headers['idempotency-key']) : undefined;
    // Rotation has the core's own idempotency; the other actions replay from memory.
    const replayId =
      idempotencyKey !== undefined && route.path !== '/clients/{clientId}/rotate'
        ? `api\u0000${principal.actor}\u0000${route.method}\u0000${sub}\u0000${idempotencyKey}`
        : undefined;
    const replay = replayId ? replays.get(replayId) : undefined;
    if (replay) {
      sendJson(res, replay.status, replay.body, { noStore: route.secret === true });
      return;
    }
    const result = await route.handle({
      keyward: config.keyward,
      store,
      actions,
      principal,
      params,
      query: parsedQuery.data as Record<string, string>,
      body,
      idempotencyKey,
      rotateBeforeMs: config.rotateBeforeMs,
    });
    if (replayId) replays.set(replayId, route.status, result);
    sendJson(res, route.status, result, { noStore: route.secret === true });
  }

  const handler = ((req: IncomingMessage, res: ServerResponse) => {
    serve(req, res).catch((error: unknown) => {
      const failure = failureOf(error);
      if (failure.status >= 500)
        logger.error({ err: { message: error instanceof Error ? error.message : String(error) } }, 'keyward admin: request failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const ar = adminRequest(req);
      fail(res, ar.path.startsWith(API_PREFIX), ar, failure);
    });
  }) as KeywardAdminHandler;
  handler.issueAdminKey = async (name, opts = {}) => {
    if (!adminKeys) throw new TypeError('keywardAdmin: issueAdminKey needs the adminKeys option');
    const issued = await adminKeys.issue(name, { write: opts.write ?? true, ...(opts.actor ? { actor: opts.actor } : {}) });
    return { key: issued.key, fingerprint: issued.fingerprint, clientId: issued.clientId };
  };
  handler.close = async () => {
    await adminKeys?.close();
  };
  return handler;
}

function serveAsset(path: string, res: ServerResponse): void {
  const asset =
    path === '/assets/admin.css'
      ? { type: 'text/css', body: ADMIN_CSS }
      : path === '/assets/admin.js'
        ? { type: 'text/javascript', body: ADMIN_JS }
        : undefined;
  if (!asset) {
    res.statusCode = 404;
    res.end();
    return;
  }
  res.statusCode = 200;
  res.setHeader('Content-Type', `${asset.type}; charset=utf-8`);
  res.setHeader('Cache-Control', 'public, max-age=3600');
  res.end(asset.body);
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** `Idempotency-Key`: 1–255 printable characters (optionally quoted), one value. */
function idempotencyKeyOf(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header))
    throw new AdminHttpError(400, AdminErrorCodes.INVALID_REQUEST, 'The request has several Idempotency-Key headers.');
  let token = header.trim();
  if (token.length >= 2 && token.startsWith('"') && token.endsWith('"')) token = token.slice(1, -1);
  if (!IDEMPOTENCY_KEY.test(token))
    throw new AdminHttpError(400, AdminErrorCodes.INVALID_REQUEST, 'The Idempotency-Key header must be 1-255 printable characters.');
  return token;
}
