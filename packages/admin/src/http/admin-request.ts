import type { IncomingMessage } from 'node:http';

/** The request as the console sees it: its path relative to the mount point. */
export interface AdminRequest {
  readonly req: IncomingMessage;
  readonly method: string;
  /** Path below the mount point, always starting with `/` (e.g. `/clients/acme`). */
  readonly path: string;
  readonly query: URLSearchParams;
  /**
   * The way from this page back to the mount point, as a relative URL (`./`, `../`,
   * `../../`): every link is built from it, so the console works under any sub-path
   * and behind a proxy that rewrites the prefix.
   */
  readonly base: string;
  readonly cookies: ReadonlyMap<string, string>;
  /**
   * The mount point was requested without its trailing slash (`/keyward`): relative
   * links would resolve one level too high, so the console redirects to `keyward/`
   * first. Set from Express's `originalUrl`; standalone, the root always has its slash.
   */
  readonly slashRedirect: string | null;
}

/**
 * Reads the path below the mount. Express sets `req.url` relative to the mount (the
 * rest is in `originalUrl`); standalone, the console is mounted at `/`.
 */
export function adminRequest(req: IncomingMessage): AdminRequest {
  const url = new URL(req.url ?? '/', 'http://admin.invalid');
  let path = url.pathname;
  if (!path.startsWith('/')) path = `/${path}`;
  // Collapse repeated slashes so `base` counts real segments.
  path = path.replace(/\/{2,}/g, '/');
  const depth = path.split('/').length - 2;
  const base = depth <= 0 ? './' : '../'.repeat(depth);
  return {
    req,
    method: (req.method ?? 'GET').toUpperCase(),
    path,
    query: url.searchParams,
    base,
    cookies: parseCookies(req.headers.cookie),
    slashRedirect: path === '/' ? slashRedirectOf(req) : null,
  };
}

function slashRedirectOf(req: IncomingMessage): string | null {
  const original = (req as { originalUrl?: unknown }).originalUrl;
  if (typeof original !== 'string') return null;
  const url = new URL(original, 'http://admin.invalid');
  if (url.pathname.endsWith('/')) return null;
  const last = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
  return `./${last}/${url.search}`;
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

const MAX_BODY = 64 * 1024;

export class BodyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The request body, at most 64 KiB. A body a framework already parsed (`req.body`,
 * e.g. `express.json()` or `express.urlencoded()` mounted before the console) is used
 * as it is; otherwise the stream is read here.
 */
export async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const parsed = (req as { body?: unknown }).body;
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (parsed !== undefined && typeof parsed === 'object' && parsed !== null && !Buffer.isBuffer(parsed)) {
    return parsed as Record<string, unknown>;
  }
  let text: string;
  if (typeof parsed === 'string') text = parsed;
  else if (Buffer.isBuffer(parsed)) text = parsed.toString('utf8');
  else text = await readStream(req);
  if (text.length === 0) return {};
  if (type === 'application/json') {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new BodyError(400, 'the body is not valid JSON');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BodyError(400, 'the body must be a JSON object');
    return value as Record<string, unknown>;
  }
  if (type === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(text));
  throw new BodyError(415, 'send application/json or application/x-www-form-urlencoded');
}

function readStream(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    if (req.readableEnded) {
      resolve('');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new BodyError(413, 'the body is larger than 64 KiB'));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** True for a connection from this machine (127.0.0.0/8 or ::1), by socket address, never by header. */
export function isLoopback(req: IncomingMessage): boolean {
  const address = req.socket?.remoteAddress ?? '';
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** HTTPS as the client sees it: the socket, or the proxy's `X-Forwarded-Proto` when trusted. */
export function isHttps(req: IncomingMessage, trustProxy: boolean): boolean {
  if ((req.socket as { encrypted?: boolean } | undefined)?.encrypted === true) return true;
  if (!trustProxy) return false;
  const proto = req.headers['x-forwarded-proto'];
  return (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase() === 'https';
}
