// App builders for the shared scenario list: the same small API on Express, Koa,
// Fastify, Hono (on @hono/node-server) and Nest (Express and Fastify platforms,
// guard per route or global).
import 'reflect-metadata';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import type { Keyward, ValidKey } from '@keyward/core';
import { apiKeyRotationRouter, apiKeyAuth as expressAuth } from '@keyward/express';
import { apiKeyAuth as fastifyAuth } from '@keyward/fastify';
import { type ApiKeyEnv, apiKeyAuth as honoAuth, apiKeyRotation as honoRotation } from '@keyward/hono';
import { apiKeyRotation, apiKeyAuth as koaAuth } from '@keyward/koa';
import { ApiKey, ApiKeyGuard, ApiKeyModule, Public, Scopes } from '@keyward/nest';
import { Controller, Get, type INestApplication, Module, type Type, UseGuards } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';

export interface BuiltApp {
  /** What supertest's `request()` takes. */
  readonly target: Server | ((req: unknown, res: unknown) => void);
  close(): Promise<void>;
}

export interface Framework {
  readonly name: string;
  build(keyward: Keyward): Promise<BuiltApp>;
}

/**
 * Every app: GET /orders (any key), GET /admin (scope orders:write), GET /health (public),
 * POST /api-keys/rotate, and GET /tamper (a careless handler that tries to grant its key a scope).
 */
const body = (key: ValidKey | undefined) => ({ clientId: key?.clientId, fingerprint: key?.fingerprint });
function tamper(key: ValidKey | undefined) {
  let granted = true;
  try {
    ((key as ValidKey).scopes as string[]).push('orders:write');
  } catch {
    granted = false; // frozen: the push throws
  }
  return { ...body(key), granted };
}
const limiterOptions = (keyward: Keyward) => ({ keyward });

const expressApp: Framework = {
  name: 'express',
  async build(keyward) {
    const app = express();
    app.set('trust proxy', true);
    app.get('/health', (_req, res) => {
      res.json({ ok: true });
    });
    app.use(apiKeyRotationRouter(limiterOptions(keyward)));
    const auth = expressAuth(limiterOptions(keyward));
    app.use(auth);
    app.get('/orders', (req, res) => {
      res.json(body(req.apiKey));
    });
    app.get('/admin', auth.requireScopes('orders:write'), (req, res) => {
      res.json(body(req.apiKey));
    });
    app.get('/tamper', (req, res) => {
      res.json(tamper(req.apiKey));
    });
    return { target: app as never, close: async () => {} };
  },
};

const koaApp: Framework = {
  name: 'koa',
  async build(keyward) {
    const app = new Koa();
    app.proxy = true;
    const auth = koaAuth(limiterOptions(keyward));
    const admin = auth.requireScopes('orders:write');
    app.use(async (ctx, next) => {
      if (ctx.path === '/health') ctx.body = { ok: true };
      else await next();
    });
    app.use(apiKeyRotation(limiterOptions(keyward)));
    app.use(auth);
    app.use(async (ctx, next) => {
      if (ctx.path === '/orders') ctx.body = body(ctx.state.apiKey);
      else if (ctx.path === '/tamper') ctx.body = tamper(ctx.state.apiKey);
      else if (ctx.path === '/admin')
        await admin(ctx, async () => {
          ctx.body = body(ctx.state.apiKey);
        });
      else await next();
    });
    return { target: app.callback() as never, close: async () => {} };
  },
};

const fastifyApp: Framework = {
  name: 'fastify',
  async build(keyward) {
    const app = Fastify({ trustProxy: true });
    await app.register(fastifyAuth, { keyward, rotation: true });
    app.get('/health', { config: { apiKey: false } }, async () => ({ ok: true }));
    app.get('/orders', async (request) => body(request.apiKey ?? undefined));
    app.get('/admin', { config: { apiKey: { scopes: ['orders:write'] } } }, async (request) => body(request.apiKey ?? undefined));
    app.get('/tamper', async (request) => tamper(request.apiKey ?? undefined));
    await app.ready();
    return { target: app.server, close: () => app.close() };
  },
};

const honoApp: Framework = {
  name: 'hono',
  async build(keyward) {
    // Hono has no `trust proxy`: the test's proxy header is read by `clientIp`.
    const options = { keyward, clientIp: (c: { req: { header(name: string): string | undefined } }) => c.req.header('x-forwarded-for') };
    const app = new Hono<ApiKeyEnv>();
    const auth = honoAuth(options);
    app.get('/health', (c) => c.json({ ok: true }));
    app.post('/api-keys/rotate', honoRotation(options));
    app.use(auth);
    app.get('/orders', (c) => c.json(body(c.get('apiKey'))));
    app.get('/admin', auth.requireScopes('orders:write'), (c) => c.json(body(c.get('apiKey'))));
    app.get('/tamper', (c) => c.json(tamper(c.get('apiKey'))));
    return { target: getRequestListener(app.fetch) as never, close: async () => {} };
  },
};

function nestControllers(guardPerRoute: boolean): Type<unknown>[] {
  @Controller('orders')
  class OrdersController {
    @Get()
    list(@ApiKey() key: ValidKey) {
      return body(key);
    }
  }
  @Scopes('orders:write')
  @Controller('admin')
  class AdminController {
    @Get()
    get(@ApiKey() key: ValidKey) {
      return body(key);
    }
  }
  @Controller('tamper')
  class TamperController {
    @Get()
    get(@ApiKey() key: ValidKey) {
      return tamper(key);
    }
  }
  @Public()
  @Controller('health')
  class HealthController {
    @Get()
    ok() {
      return { ok: true };
    }
  }
  if (guardPerRoute) for (const c of [OrdersController, AdminController, TamperController]) UseGuards(ApiKeyGuard)(c);
  return [OrdersController, AdminController, TamperController, HealthController];
}

const root = resolve(import.meta.dirname, '../..');
/** @nestjs/platform-fastify is a devDependency of @keyward/nest only: load it from there. */
const fromNest = createRequire(join(root, 'packages/nest/package.json'));

function nestApp(name: string, guard: 'route' | 'global', platform: 'express' | 'fastify'): Framework {
  return {
    name,
    async build(keyward) {
      @Module({
        imports: [ApiKeyModule.forRoot({ keyward, rotation: true })],
        controllers: nestControllers(guard === 'route'),
        providers: guard === 'global' ? [{ provide: APP_GUARD, useClass: ApiKeyGuard }] : [],
      })
      class AppModule {}
      const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
      let app: INestApplication;
      if (platform === 'fastify') {
        const { FastifyAdapter } = fromNest('@nestjs/platform-fastify') as typeof import('@nestjs/platform-fastify');
        app = moduleRef.createNestApplication(new FastifyAdapter({ trustProxy: true }), { logger: false });
        await app.init();
        await (app.getHttpAdapter().getInstance() as { ready(): Promise<void> }).ready();
      } else {
        app = moduleRef.createNestApplication({ logger: false });
        (app.getHttpAdapter().getInstance() as express.Express).set('trust proxy', true);
        await app.init();
      }
      return { target: app.getHttpServer(), close: () => app.close() };
    },
  };
}

export const FRAMEWORKS: readonly Framework[] = [
  expressApp,
  koaApp,
  fastifyApp,
  honoApp,
  nestApp('nest (express platform, guard per route)', 'route', 'express'),
  nestApp('nest (express platform, global APP_GUARD)', 'global', 'express'),
  nestApp('nest (fastify platform, global APP_GUARD)', 'global', 'fastify'),
];
