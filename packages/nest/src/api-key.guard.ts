import {
  type ApiKeyHttpError,
  type AuthOutcome,
  authenticate,
  type Keyward,
  NodeRequestView,
  scopeError,
  setRequestKey,
} from '@keyward/core';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { API_KEY_CONFIG, IS_PUBLIC, REQUIRED_SCOPES } from './constants.js';
import { type PlatformRequest, setHeaders, toNestException } from './http-platform.js';
import type { NestApiKeyConfig } from './options.js';

/** What the decorators say about one route: read once per handler, not per request (metadata is fixed at startup). */
interface RouteMetadata {
  readonly isPublic: boolean;
  readonly scopes: readonly string[];
}

/**
 * Verifies the request's API key (`@UseGuards(ApiKeyGuard)`, or globally as
 * `APP_GUARD`) and puts it on `request.apiKey`. Refusals throw
 * `UnauthorizedException` / `ForbiddenException` / `HttpException` with body
 * `{ error, message }` after setting the response headers (`WWW-Authenticate`,
 * `Retry-After`); it never returns `false` (which Nest would turn into a bare 403).
 * `@Public()` skips it; `@Scopes()` adds required scopes. Runs once per request even
 * when both a global and a route guard apply.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  /** Per controller class, per handler: an inherited handler can sit under differently decorated classes. */
  private readonly routes = new WeakMap<object, WeakMap<object, RouteMetadata>>();

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(API_KEY_CONFIG) private readonly config: NestApiKeyConfig,
    @Inject(HttpAdapterHost) private readonly host: HttpAdapterHost,
  ) {}

  /** Synchronous when nothing needs I/O (a cached key, an in-memory limiter); a promise otherwise. */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const route = this.metadata(context);
    if (route.isPublic) return true;
    if (context.getType() !== 'http')
      throw new Error('@keyward/nest: ApiKeyGuard protects HTTP routes only; mark other handlers @Public()');
    // The HTTP arguments are [request, response, next]; switchToHttp() would build three closures per request.
    const req = context.getArgByIndex<PlatformRequest>(0);
    const res = context.getArgByIndex<unknown>(1);
    if (req.apiKey !== undefined) return this.scopesHeld(route, req, context, res);
    const keyward = this.config.http.keyward();
    return keyward instanceof Promise
      ? keyward.then((k) => this.verified(k, route, req, context, res))
      : this.verified(keyward, route, req, context, res);
  }

  private verified(
    keyward: Keyward,
    route: RouteMetadata,
    req: PlatformRequest,
    context: ExecutionContext,
    res: unknown,
  ): boolean | Promise<boolean> {
    const outcome = authenticate(keyward, new NodeRequestView(req), this.config.http);
    return outcome instanceof Promise
      ? outcome.then((o) => this.settle(o, route, req, context, res))
      : this.settle(outcome, route, req, context, res);
  }

  private settle(
    outcome: AuthOutcome,
    route: RouteMetadata,
    req: PlatformRequest,
    context: ExecutionContext,
    res: unknown,
  ): boolean | Promise<boolean> {
    if (!outcome.ok) return this.fail(outcome.error, context, res);
    setRequestKey(req, outcome.key);
    if (outcome.headers !== undefined) setHeaders(this.host, res, outcome.headers);
    return this.scopesHeld(route, req, context, res);
  }

  private scopesHeld(route: RouteMetadata, req: PlatformRequest, context: ExecutionContext, res: unknown): boolean | Promise<boolean> {
    if (route.scopes.length === 0) return true;
    const error = scopeError(this.config.http, req.apiKey, route.scopes);
    return error === undefined ? true : this.fail(error, context, res);
  }

  private metadata(context: ExecutionContext): RouteMetadata {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byHandler = this.routes.get(controller);
    if (byHandler === undefined) {
      byHandler = new WeakMap();
      this.routes.set(controller, byHandler);
    }
    let route = byHandler.get(handler);
    if (route === undefined) {
      const targets = [handler, controller];
      route = {
        isPublic: this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets) === true,
        scopes: this.reflector.getAllAndMerge<string[]>(REQUIRED_SCOPES, targets) ?? [],
      };
      byHandler.set(handler, route);
    }
    return route;
  }

  private async fail(error: ApiKeyHttpError, context: ExecutionContext, res: unknown): Promise<never> {
    setHeaders(this.host, res, error.headers);
    await this.config.onError?.(error, context);
    throw toNestException(error);
  }
}
