import { credentialHeaders, type HttpHeaders, type HttpRequestLike } from '@keyward/core';
import type { Context } from 'hono';
import type { HonoConfig } from './options.js';

/** What `@hono/node-server` puts in `c.env`: Node's request (its `HttpBindings`). */
interface NodeBindings {
  readonly incoming?: {
    readonly headers: HttpHeaders;
    readonly rawHeaders: readonly string[];
    readonly method?: string | undefined;
    readonly socket?: { readonly remoteAddress?: string | undefined } | undefined;
  };
}

/** Node's request when the app runs on `@hono/node-server`, else `undefined` (another runtime, `app.request()`). */
function nodeRequestOf(c: Context): NodeBindings['incoming'] {
  const env = c.env as NodeBindings | undefined;
  return typeof env === 'object' && env !== null ? env.incoming : undefined;
}

/** Web `Headers` as the core reads headers (lower-case names; repeated fields arrive joined by ", "). */
function headersOf(headers: Headers): HttpHeaders {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name] = value;
  });
  return out;
}

/**
 * A Hono request as the core reads it. On Node the headers, `rawHeaders` (a second
 * `Authorization` header) and the socket (the per-connection memo) come from Node's
 * request; elsewhere from the Web `Request`, where two `Authorization` headers arrive
 * joined and are refused as malformed.
 */
export class HonoRequestView implements HttpRequestLike {
  readonly headers: HttpHeaders;
  readonly rawHeaders: readonly string[] | undefined;
  readonly connection: object | undefined;
  readonly method: string;

  constructor(
    private readonly c: Context,
    private readonly config: HonoConfig,
  ) {
    const node = nodeRequestOf(c);
    const { extraction } = config.http;
    // On Node, only the credential fields, walked from the raw list: Node builds the whole
    // `headers` object on first read, which the baseline app never pays for. A custom
    // extractor may read any field, so it gets Node's object.
    this.headers =
      node === undefined
        ? headersOf(c.req.raw.headers)
        : extraction.extract === undefined
          ? credentialHeaders(node.rawHeaders, extraction.bearer, config.keyHeader)
          : node.headers;
    this.rawHeaders = node?.rawHeaders;
    this.connection = node?.socket;
    this.method = node?.method ?? c.req.method;
  }

  get path(): string {
    return this.c.req.path;
  }

  get ip(): string | undefined {
    if (this.config.clientIp !== undefined) return this.config.clientIp(this.c);
    return nodeRequestOf(this.c)?.socket?.remoteAddress;
  }
}
