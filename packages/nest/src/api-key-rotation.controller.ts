import { isApiKeyHttpError, rawHeadersOf, selfRotate } from '@keyward/core';
import { Controller, Inject, Post, Req, Res, type Type, UseGuards } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard.js';
import { API_KEY_CONFIG } from './constants.js';
import { type PlatformRequest, setHeaders, toNestException } from './http-platform.js';
import type { NestApiKeyConfig } from './options.js';

/**
 * Builds the self-service rotation controller at `POST /<path>/rotate`: a client
 * authenticated with its current key gets its successor (201; the key is in this
 * response only), the new key's fingerprint and the old key's `sunset`; a retry
 * with the same `Idempotency-Key` header gets 200 with the same rotation (no key).
 */
export function createRotationController(path: string): Type<unknown> {
  @Controller(path)
  @UseGuards(ApiKeyGuard)
  class ApiKeyRotationController {
    constructor(
      @Inject(API_KEY_CONFIG) private readonly config: NestApiKeyConfig,
      @Inject(HttpAdapterHost) private readonly host: HttpAdapterHost,
    ) {}

    @Post('rotate')
    async rotate(@Req() req: PlatformRequest, @Res() res: unknown): Promise<void> {
      const { http } = this.config;
      try {
        const result = await selfRotate(await http.keyward(), req.apiKey!, http, {
          idempotencyKey: req.headers['idempotency-key'],
          rawHeaders: rawHeadersOf(req),
          reissue: req.headers['keyward-reissue'],
        });
        setHeaders(this.host, res, result.headers);
        this.host.httpAdapter.reply(res, result.body, result.status);
      } catch (error) {
        if (!isApiKeyHttpError(error)) throw error;
        setHeaders(this.host, res, error.headers);
        throw toNestException(error);
      }
    }
  }
  return ApiKeyRotationController;
}
