import type { HttpHeaders, HttpRequestLike } from './extract-key.js';

/** The fields Express, Fastify and Nest requests share (all Node `IncomingMessage`-like). */
export interface NodeStyleRequest {
  readonly headers: HttpHeaders;
  readonly method?: string | undefined;
  readonly url?: string | undefined;
  /** Express: the URL before any mounted router stripped its prefix. */
  readonly originalUrl?: string | undefined;
  /** The address as the framework resolved it (Express: `trust proxy`; Fastify: `trustProxy`). */
  readonly ip?: string | undefined;
  readonly socket?: object | undefined;
  /** Node's headers as received (Express, Nest on Express: the request is Node's). */
  readonly rawHeaders?: readonly string[] | undefined;
  /** Fastify (and Nest on Fastify): Node's request, which holds `rawHeaders`. */
  readonly raw?: { readonly rawHeaders?: readonly string[] | undefined } | undefined;
}

/** The request's headers as received, wherever the framework keeps them. */
export function rawHeadersOf(req: NodeStyleRequest): readonly string[] | undefined {
  return req.rawHeaders ?? req.raw?.rawHeaders;
}

/** The request path without its query string: `originalUrl` when the framework keeps one, else `url`. */
export function pathWithoutQuery(req: NodeStyleRequest): string {
  const url = req.originalUrl ?? req.url ?? '';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * A Node-style request as the core reads it. `path` and `ip` are getters: the core
 * reads them only when it needs them (a failure, an event, a limiter with something
 * counted), and Express's `req.ip` runs proxy-addr on every read. The socket is the
 * connection for the per-connection memo; `rawHeaders` shows a repeated Authorization.
 */
export class NodeRequestView implements HttpRequestLike {
  readonly headers: HttpHeaders;
  readonly method: string | undefined;
  readonly connection: object | undefined;

  constructor(private readonly req: NodeStyleRequest) {
    this.headers = req.headers;
    this.method = req.method;
    this.connection = req.socket;
  }

  get path(): string {
    return pathWithoutQuery(this.req);
  }

  get ip(): string | undefined {
    return this.req.ip;
  }

  /** Read only when an Authorization header is present. */
  get rawHeaders(): readonly string[] | undefined {
    return rawHeadersOf(this.req);
  }
}
