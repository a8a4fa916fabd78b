import type { ApiKeyHttpError, ValidKey } from '@keyward/core';
import { ForbiddenException, HttpException, UnauthorizedException } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';

/** The request fields keyward reads; Express and Fastify requests both have them. */
export interface PlatformRequest {
  headers: Record<string, string | string[] | undefined>;
  method: string;
  url: string;
  originalUrl?: string;
  ip?: string;
  /** The connection (Node's socket on Express, Fastify's `request.socket`). */
  socket?: object;
  /** Node's headers as received (Express platform). */
  rawHeaders?: string[];
  /** Fastify platform: Node's request, which holds `rawHeaders`. */
  raw?: { rawHeaders?: string[] };
  /** The verified key, set by `ApiKeyGuard`. */
  apiKey?: ValidKey;
}

/** Sets headers through Nest's HTTP adapter, so it works on Express and Fastify alike. */
export function setHeaders(host: HttpAdapterHost, response: unknown, headers: Readonly<Record<string, string>>): void {
  const adapter = host.httpAdapter;
  for (const name of Object.keys(headers)) adapter.setHeader(response, name, headers[name] as string);
}

/** The Nest exception for a keyward error: same status and body `{ error, message }`; the keyward error is its `cause`. */
export function toNestException(error: ApiKeyHttpError): HttpException {
  const body = error.body;
  if (error.status === 401) return new UnauthorizedException(body, { cause: error });
  if (error.status === 403) return new ForbiddenException(body, { cause: error });
  return new HttpException(body, error.status, { cause: error });
}
