// One hello-world server for bench/http.mjs, in its own process so that autocannon (in the
// parent) and the server do not share an event loop.
//   node bench/lib/http-app.mjs <express|koa|nest|fastify|hono> <baseline|auth|noop|verify|core|floor> <sqlite file>
// baseline: the app with a plain JSON route and nothing else. auth: the same app behind
// keyward (`app.use(apiKeyAuth({ keyward }))`, or `ApiKeyModule.forRoot({ keyward,
// globalGuard: true })` in Nest), with a SqliteStore on the given file. More, to see where
// the time goes: empty (a synchronous middleware / global guard that does nothing: what the
// framework charges for any middleware, the floor under every check); noop (an async one); verify (one
// that awaits `keyward.verify()`, without the adapter); core (the synchronous
// `keyward.verifyFast(key, undefined, socket)`: the verifier's hot path with the
// per-connection memo, without the adapter's extraction, limiter and request view); floor
// (the least a hashed check can cost: a synchronous SHA-256 of the bearer token and a Map
// lookup, no keyward at all); idle (the baseline app with a keyward open in the process but
// not in the request path: what merely having it loaded costs). An app with a keyward issues one key and reports it; the
// parent sends the auth app's key to the apps without keyward too, so the request bytes
// are the same.
// Listens on 127.0.0.1, port 0, and tells the parent {type:'ready', port, key?}. On
// {type:'cpu'} it answers with its CPU time so far. Closing stdin shuts it down (server,
// keyward, store), then it exits.
import { hash } from 'node:crypto';
import { onParentMessages, tell } from './json-child.mjs';

const [framework, mode, sqlitePath] = process.argv.slice(2);
const MODES = ['baseline', 'auth', 'empty', 'noop', 'verify', 'core', 'floor', 'idle'];
const BODY = { hello: 'world' };

async function makeKeyward() {
  const { createKeyward } = await import('@keyward/core');
  const { SqliteStore } = await import('@keyward/sqlite');
  const store = new SqliteStore({ path: sqlitePath });
  const keyward = createKeyward({ store });
  const { key } = await keyward.issue('bench-client', { scopes: ['read'] });
  return { keyward, key, close: () => keyward.close().then(() => store.close()) };
}

/** The presented key, read the simplest way (for the `verify` and `floor` modes). */
const bearerOf = (headers) => headers.authorization?.slice(7);

/** `floor`: a synchronous check of the bearer token against a Map of SHA-256 hashes. */
function floorCheck(kw) {
  const known = new Map([[hash('sha256', kw.key, 'hex'), { valid: true, clientId: 'bench-client' }]]);
  return (headers) => {
    const token = bearerOf(headers);
    return token === undefined ? undefined : known.get(hash('sha256', token, 'hex'));
  };
}

async function express(kw) {
  const { default: createApp } = await import('express');
  const app = createApp();
  if (mode === 'auth') {
    const { apiKeyAuth } = await import('@keyward/express');
    app.use(apiKeyAuth({ keyward: kw.keyward }));
  } else if (mode === 'empty') {
    app.use((_req, _res, next) => next());
  } else if (mode === 'noop') {
    // The shape of an async middleware, doing nothing.
    app.use((_req, _res, next) => {
      (async () => next())().catch(next);
    });
  } else if (mode === 'verify') {
    app.use((req, res, next) => {
      kw.keyward.verify(bearerOf(req.headers)).then((result) => {
        if (!result.valid) return res.status(401).end();
        req.apiKey = result;
        next();
      }, next);
    });
  } else if (mode === 'core') {
    app.use((req, res, next) => {
      const pass = (result) => {
        if (!result.valid) return res.status(401).end();
        req.apiKey = result;
        next();
      };
      const result = kw.keyward.verifyFast(bearerOf(req.headers), undefined, req.socket);
      if (result instanceof Promise) result.then(pass, next);
      else pass(result);
    });
  } else if (mode === 'floor') {
    const check = floorCheck(kw);
    app.use((req, res, next) => {
      req.apiKey = check(req.headers);
      if (req.apiKey === undefined) res.status(401).end();
      else next();
    });
  }
  app.get('/', (_req, res) => res.json(BODY));
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { port: server.address().port, close: () => new Promise((resolve) => server.close(resolve)) };
}

async function koa(kw) {
  const { default: Koa } = await import('koa');
  const app = new Koa();
  if (mode === 'auth') {
    const { apiKeyAuth } = await import('@keyward/koa');
    app.use(apiKeyAuth({ keyward: kw.keyward }));
  } else if (mode === 'empty') {
    app.use((_ctx, next) => next());
  } else if (mode === 'noop') {
    app.use(async (_ctx, next) => {
      await next();
    });
  } else if (mode === 'verify') {
    app.use(async (ctx, next) => {
      const result = await kw.keyward.verify(bearerOf(ctx.headers));
      if (!result.valid) ctx.throw(401);
      ctx.state.apiKey = result;
      await next();
    });
  } else if (mode === 'core') {
    app.use((ctx, next) => {
      const pass = (result) => {
        if (!result.valid) ctx.throw(401);
        ctx.state.apiKey = result;
        return next();
      };
      const result = kw.keyward.verifyFast(bearerOf(ctx.headers), undefined, ctx.req.socket);
      return result instanceof Promise ? result.then(pass) : pass(result);
    });
  } else if (mode === 'floor') {
    const check = floorCheck(kw);
    app.use((ctx, next) => {
      ctx.state.apiKey = check(ctx.headers);
      if (ctx.state.apiKey === undefined) ctx.throw(401);
      return next();
    });
  }
  app.use((ctx) => {
    ctx.body = BODY;
  });
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { port: server.address().port, close: () => new Promise((resolve) => server.close(resolve)) };
}

async function nest(kw) {
  await import('reflect-metadata');
  const { Controller, Get, Module, UnauthorizedException } = await import('@nestjs/common');
  const { APP_GUARD, NestFactory } = await import('@nestjs/core');
  class HelloController {
    hello() {
      return BODY;
    }
  }
  Controller()(HelloController);
  const proto = HelloController.prototype;
  Reflect.decorate([Get()], proto, 'hello', Object.getOwnPropertyDescriptor(proto, 'hello'));
  const imports = [];
  const providers = [];
  if (mode === 'auth') {
    const { ApiKeyModule } = await import('@keyward/nest');
    imports.push(ApiKeyModule.forRoot({ keyward: kw.keyward, globalGuard: true }));
  } else if (mode === 'empty') {
    class EmptyGuard {
      canActivate() {
        return true;
      }
    }
    providers.push({ provide: APP_GUARD, useClass: EmptyGuard });
  } else if (mode === 'noop') {
    class NoopGuard {
      async canActivate() {
        return true;
      }
    }
    providers.push({ provide: APP_GUARD, useClass: NoopGuard });
  } else if (mode === 'verify') {
    class VerifyGuard {
      async canActivate(context) {
        const req = context.switchToHttp().getRequest();
        const result = await kw.keyward.verify(bearerOf(req.headers));
        if (!result.valid) throw new UnauthorizedException();
        req.apiKey = result;
        return true;
      }
    }
    providers.push({ provide: APP_GUARD, useClass: VerifyGuard });
  } else if (mode === 'core') {
    class CoreGuard {
      canActivate(context) {
        const req = context.getArgByIndex(0);
        const pass = (result) => {
          if (!result.valid) throw new UnauthorizedException();
          req.apiKey = result;
          return true;
        };
        const result = kw.keyward.verifyFast(bearerOf(req.headers), undefined, req.socket);
        return result instanceof Promise ? result.then(pass) : pass(result);
      }
    }
    providers.push({ provide: APP_GUARD, useClass: CoreGuard });
  } else if (mode === 'floor') {
    const check = floorCheck(kw);
    class FloorGuard {
      canActivate(context) {
        const req = context.switchToHttp().getRequest();
        req.apiKey = check(req.headers);
        if (req.apiKey === undefined) throw new UnauthorizedException();
        return true;
      }
    }
    providers.push({ provide: APP_GUARD, useClass: FloorGuard });
  }
  class AppModule {}
  Module({ imports, providers, controllers: [HelloController] })(AppModule);
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  return { port: app.getHttpServer().address().port, close: () => app.close() };
}

/** Fastify and Hono: baseline, auth and empty only (the other modes dissect Express, Koa and Nest). */
function onlyBasicModes(name) {
  if (!['baseline', 'auth', 'empty', 'idle'].includes(mode)) throw new Error(`${name}: mode ${mode} is not built for it`);
}

async function fastify(kw) {
  onlyBasicModes('fastify');
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  if (mode === 'auth') {
    const { apiKeyAuth } = await import('@keyward/fastify');
    await app.register(apiKeyAuth, { keyward: kw.keyward });
  } else if (mode === 'empty') {
    app.addHook('onRequest', (_request, _reply, done) => done());
  }
  app.get('/', async () => BODY);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { port: app.server.address().port, close: () => app.close() };
}

async function hono(kw) {
  onlyBasicModes('hono');
  const { Hono } = await import('hono');
  const { serve } = await import('@hono/node-server');
  const app = new Hono();
  if (mode === 'auth') {
    const { apiKeyAuth } = await import('@keyward/hono');
    app.use(apiKeyAuth({ keyward: kw.keyward }));
  } else if (mode === 'empty') {
    app.use(async (_c, next) => {
      await next();
    });
  }
  app.get('/', (c) => c.json(BODY));
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  return { port: server.address().port, close: () => new Promise((resolve) => server.close(resolve)) };
}

const apps = { express, koa, nest, fastify, hono };
try {
  if (!apps[framework] || !MODES.includes(mode))
    throw new Error(`usage: http-app.mjs <express|koa|nest|fastify|hono> <${MODES.join('|')}> <sqlite file>`);
  const kw = ['auth', 'verify', 'core', 'floor', 'idle'].includes(mode) ? await makeKeyward() : undefined;
  const server = await apps[framework](kw);
  onParentMessages(
    (message) => {
      // CPU time used by this process so far (µs), so the parent can compute CPU per request.
      if (message.type === 'cpu') {
        const { user, system } = process.cpuUsage();
        tell({ type: 'cpu', user, system });
      }
    },
    async () => {
      await server.close();
      await kw?.close();
      process.exit(0);
    },
  );
  tell({ type: 'ready', port: server.port, key: kw?.key, pid: process.pid });
} catch (error) {
  tell({ type: 'error', message: error?.stack ?? String(error) });
  process.exit(1);
}
